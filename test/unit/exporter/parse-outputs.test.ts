import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UserError } from "../../../src/errors/user-error.ts";
import { type OutputFlags, parseOutputs } from "../../../src/exporter/index.ts";

const flags = (output: string[], more: Partial<OutputFlags> = {}): OutputFlags => ({
  output,
  tags: [],
  push: false,
  ...more,
});

function fails(f: OutputFlags, message: RegExp, hint?: RegExp): void {
  assert.throws(
    () => parseOutputs(f),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${e}`);
      assert.match(e.message, message);
      assert.ok(!e.message.includes("\n"), "one line");
      if (hint) assert.match(e.hint ?? "", hint);
      return true;
    },
  );
}

describe("-o parsing", () => {
  test("type=oci,dest=FILE is an OCI archive with OCI media types", () => {
    const [o] = parseOutputs(flags(["type=oci,dest=out.tar"]));
    assert.equal(o?.type, "oci");
    assert.ok(o?.type === "oci");
    assert.equal(o.dest, "out.tar");
    assert.equal(o.tar, true);
    assert.equal(o.image.ociMediaTypes, true);
    assert.deepEqual(o.image.names, []);
  });

  test("tar=false gives a layout directory; docker defaults to Docker media types", () => {
    const [dir, docker] = parseOutputs(flags(["type=oci,dest=dir,tar=false", "type=docker,dest=x.tar"]));
    assert.ok(dir?.type === "oci" && docker?.type === "docker");
    assert.equal(dir.tar, false);
    assert.equal(docker.image.ociMediaTypes, false);
    assert.equal(docker.tar, true);
  });

  test("a bare path is type=local, a bare - is type=tar to stdout", () => {
    assert.deepEqual(parseOutputs(flags(["out/dir"])), [
      { type: "local", dest: "out/dir", platformSplit: true },
    ]);
    assert.deepEqual(parseOutputs(flags(["-"])), [{ type: "tar", dest: "-", platformSplit: true }]);
    assert.deepEqual(parseOutputs(flags(["type=local,dest=x,platform-split=false"])), [
      { type: "local", dest: "x", platformSplit: false },
    ]);
  });

  test("type=registry is an image with push=true; several names in one quoted field", () => {
    const [o] = parseOutputs(flags(['type=registry,"name=localhost:5000/a:1,localhost:5000/b:2"']));
    assert.ok(o?.type === "image");
    assert.equal(o.push, true);
    assert.deepEqual(o.image.names, ["localhost:5000/a:1", "localhost:5000/b:2"]);
    const [p] = parseOutputs(flags(['type=image,name="reg.io/a:1,reg.io/b:1",push=false']));
    assert.ok(p?.type === "image");
    assert.equal(p.push, false);
    assert.deepEqual(p.image.names, ["reg.io/a:1", "reg.io/b:1"]);
  });

  test("-t with --push becomes a pushed image; -t alone keeps it in the store", () => {
    const [pushed] = parseOutputs(flags([], { tags: ["reg.io/app:1", "reg.io/app:latest"], push: true }));
    assert.ok(pushed?.type === "image");
    assert.equal(pushed.push, true);
    assert.deepEqual(pushed.image.names, ["reg.io/app:1", "reg.io/app:latest"]);
    const [kept] = parseOutputs(flags([], { tags: ["app:dev"] }));
    assert.ok(kept?.type === "image");
    assert.equal(kept.push, false);
    assert.equal(kept.store, true);
    assert.deepEqual(parseOutputs(flags([])), []);
  });

  test("--push turns an image output into a push; tags name outputs that have no name", () => {
    const [o, oci] = parseOutputs(
      flags(["type=image", "type=oci,dest=o.tar"], { tags: ["reg.io/x:1"], push: true }),
    );
    assert.ok(o?.type === "image" && oci?.type === "oci");
    assert.equal(o.push, true);
    assert.deepEqual(o.image.names, ["reg.io/x:1"]);
    assert.deepEqual(oci.image.names, ["reg.io/x:1"]);
    const [named] = parseOutputs(flags(["type=image,name=reg.io/own:2"], { tags: ["reg.io/x:1"] }));
    assert.ok(named?.type === "image");
    assert.deepEqual(named.image.names, ["reg.io/own:2"]);
  });

  test("image options: media types, compression, timestamps, annotations, canonical names", () => {
    const [o] = parseOutputs(
      flags([
        "type=image,name=reg.io/a:1,oci-mediatypes=false,compression=gzip,compression-level=9,force-compression=true,rewrite-timestamp=true,source-date-epoch=0,name-canonical=true,annotation.org.opencontainers.image.title=App,annotation-index.k=v,annotation-manifest[linux/arm64].m=n,annotation-index-descriptor.d=e",
      ]),
    );
    assert.ok(o?.type === "image");
    assert.equal(o.image.ociMediaTypes, false);
    assert.equal(o.image.compression, "gzip");
    assert.equal(o.image.compressionLevel, 9);
    assert.equal(o.image.forceCompression, true);
    assert.equal(o.image.rewriteTimestamp, true);
    assert.equal(o.image.sourceDateEpoch, 0);
    assert.equal(o.image.nameCanonical, true);
    assert.deepEqual(o.image.annotations, [
      { target: "manifest", key: "org.opencontainers.image.title", value: "App" },
      { target: "index", key: "k", value: "v" },
      { target: "manifest", platform: { os: "linux", architecture: "arm64" }, key: "m", value: "n" },
      { target: "index-descriptor", key: "d", value: "e" },
    ]);
  });

  test("zstd switches OCI media types on unless they were turned off explicitly", () => {
    const [d] = parseOutputs(flags(["type=docker,dest=x.tar,compression=zstd"]));
    assert.ok(d?.type === "docker");
    assert.equal(d.image.ociMediaTypes, true);
    fails(flags(["type=image,oci-mediatypes=false,compression=zstd"]), /zstd layers need OCI media types/);
  });

  test("cacheonly gives no output", () => {
    assert.deepEqual(parseOutputs(flags(["type=cacheonly"])), []);
  });
});

describe("-o errors say what to write", () => {
  test("unknown type lists the types", () => {
    fails(flags(["type=s3,dest=x"]), /unknown output type "s3"/, /image, registry, oci, docker, local, tar/);
  });
  test("unknown key names the key and lists the supported ones", () => {
    fails(flags(["type=oci,dest=x,foo=bar"]), /type=oci does not take "foo"/, /dest, tar, name/);
    fails(flags(["type=local,dest=x,tar=false"]), /type=local does not take "tar"/, /dest, platform-split/);
  });
  test("a field without = and a missing type", () => {
    fails(flags(["type=oci,out.tar"]), /field "out.tar" is not KEY=VALUE/, /type=oci,dest=out.tar/);
    fails(flags(["dest=out.tar"]), /no type= given/, /type=oci,dest=out.tar/);
  });
  test("missing or impossible destinations", () => {
    fails(flags(["type=oci"]), /type=oci needs dest=/, /dest=out.tar/);
    fails(flags(["type=local"]), /type=local needs dest=/);
    fails(flags(["type=local,dest=-"]), /cannot go to stdout/, /type=tar,dest=-/);
    fails(flags(["type=oci,dest=-,tar=false"]), /cannot go to stdout/);
  });
  test("bad values", () => {
    fails(flags(["type=oci,dest=x,tar=maybe"]), /tar=maybe is not true or false/);
    fails(flags(["type=image,compression=brotli"]), /unknown compression "brotli"/, /gzip/);
    fails(flags(["type=image,compression=estargz"]), /estargz is not supported yet/);
    fails(
      flags(["type=image,compression=gzip,compression-level=12"]),
      /compression-level=12 is out of range/,
    );
    fails(flags(["type=image,source-date-epoch=yesterday"]), /not a whole number/, /git log/);
    fails(flags(["type=image,name=reg.io/UPPER:1"]), /invalid image reference/);
    fails(flags(['type=image,"name=a']), /double quote is not closed/);
    fails(flags(["type=image,annotation-nope.k=v"]), /unknown annotation type "nope"/);
    fails(flags(["type=image,annotation-index[linux/amd64].k=v"]), /cannot name a platform/);
    fails(flags(["type=local,dest=x,annotation.k=v"]), /takes no annotations/);
  });
  test("--load and type=docker without dest load into a daemon (podman only for --load), beside --push", () => {
    const [load] = parseOutputs(flags([], { load: true, tags: ["a:1"] }));
    assert.deepEqual(
      load?.type === "load" && [load.image.names, load.image.ociMediaTypes, load.allowPodman],
      [["a:1"], false, true],
    );
    const [docker] = parseOutputs(flags(["type=docker,name=b:2"]));
    assert.deepEqual(docker?.type === "load" && [docker.image.names, docker.allowPodman], [["b:2"], false]);
    const both = parseOutputs(flags([], { load: true, push: true, tags: ["reg.io/a:1"] }));
    assert.deepEqual(
      both.map((o) => [o.type, o.type === "image" && o.push]),
      [
        ["image", true],
        ["load", false],
      ],
    );
  });
  test("push without a name, --push with a file output, unpack=true", () => {
    fails(flags(["type=registry"]), /pushing needs an image name/, /-t REGISTRY\/REPO:TAG/);
    fails(flags(["type=oci,dest=x.tar"], { push: true }), /--push and -o type=oci cannot be used together/);
    fails(flags(["type=image,name=a:1,unpack=true"]), /unpack=true/, /type=local/);
    fails(flags([], { tags: ["bad tag"] }), /-t bad tag: invalid image reference/);
  });
});
