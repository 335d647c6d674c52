import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import tarStream from "tar-stream";
import { UserError } from "../../../../src/errors/user-error.ts";
import type { LayerEntry } from "../../../../src/oci/layer/entry.ts";
import { sortByLayerPath } from "../../../../src/oci/layer/layer-path.ts";
import { encodeHeader, Typeflag } from "../../../../src/oci/layer/tar-header.ts";
import { readTar } from "../../../../src/oci/layer/tar-reader.ts";
import {
  encodeEntryHeader,
  type LayerTarItem,
  type LayerTarOptions,
  layerTarChunks,
} from "../../../../src/oci/layer/tar-writer.ts";

async function* chunksOf(data: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

async function writeTar(items: LayerTarItem[], options: LayerTarOptions = {}): Promise<Buffer> {
  return collect(layerTarChunks(items, options));
}

interface ReadBack {
  entry: Omit<LayerEntry, "xattrs"> & { xattrs: Record<string, string> };
  content: string;
}

async function readBack(tar: Buffer): Promise<ReadBack[]> {
  const out: ReadBack[] = [];
  for await (const e of readTar(chunksOf(tar))) {
    const content = (await collect(e.body)).toString("latin1");
    const entry: ReadBack["entry"] = {
      path: e.name,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime,
      size: e.size,
      xattrs: Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString("hex")])),
    };
    if (e.linkname !== "") entry.linkname = e.linkname;
    if (e.type === "char" || e.type === "block") {
      entry.devmajor = e.devmajor;
      entry.devminor = e.devminor;
    }
    out.push({ entry, content });
  }
  return out;
}

const t = (sec: number, nsec = 0) => ({ sec, nsec });
const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x04, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00]);
const longDir = `${"d".repeat(120)}/${"e".repeat(90)}`;

function fileItem(entry: Omit<LayerEntry, "type" | "size">, content: string, linkKey?: string): LayerTarItem {
  const data = Buffer.from(content, "latin1");
  const item: LayerTarItem = {
    entry: { ...entry, type: "file", size: data.length },
    open: async function* () {
      yield data;
    },
  };
  if (linkKey !== undefined) item.linkKey = linkKey;
  return item;
}

const base = { mode: 0o644, uid: 0, gid: 0, mtime: t(1700000000) };

function sampleItems(): LayerTarItem[] {
  const items: LayerTarItem[] = [
    { entry: { ...base, path: "bin", type: "dir", mode: 0o755, size: 0 } },
    fileItem(
      { ...base, path: "bin/ping", mode: 0o4755, xattrs: new Map([["security.capability", capability]]) },
      "ELF",
    ),
    { entry: { ...base, path: "bin/sh", type: "symlink", mode: 0o777, size: 0, linkname: "/bin/busybox" } },
    { entry: { ...base, path: "dev", type: "dir", mode: 0o755, size: 0 } },
    { entry: { ...base, path: "dev/null", type: "char", mode: 0o666, size: 0, devmajor: 1, devminor: 3 } },
    { entry: { ...base, path: "dev/sda", type: "block", mode: 0o660, size: 0, devmajor: 8, devminor: 0 } },
    { entry: { ...base, path: "fifo", type: "fifo", mode: 0o600, size: 0 } },
    { entry: { ...base, path: "tmp", type: "dir", mode: 0o1777, size: 0 } },
    fileItem({ ...base, path: "tmp/a", uid: 3_000_000, gid: 2_500_000 }, "big ids"),
    fileItem({ ...base, path: "tmp/b" }, "shared", "inode-1"),
    fileItem({ ...base, path: "tmp/c" }, "shared", "inode-1"),
    fileItem({ ...base, path: `tmp/${longDir}/${"f".repeat(200)}` }, "x".repeat(1000)),
    fileItem({ ...base, path: "tmp/héllo wörld ✓" }, "unicode"),
    {
      entry: {
        ...base,
        path: "tmp/z",
        type: "symlink",
        mode: 0o777,
        size: 0,
        linkname: `/${"t".repeat(150)}/ü`,
      },
    },
  ];
  return items;
}

describe("layer tar writer and reader", () => {
  it("round-trips every entry kind, with PAX for what ustar cannot hold", async () => {
    const tar = await writeTar(sampleItems());
    const back = await readBack(tar);
    const byPath = new Map(back.map((b) => [b.entry.path, b]));
    assert.deepEqual(
      back.map((b) => b.entry.path),
      [
        "bin/",
        "bin/ping",
        "bin/sh",
        "dev/",
        "dev/null",
        "dev/sda",
        "fifo",
        "tmp/",
        "tmp/a",
        "tmp/b",
        "tmp/c",
        `tmp/${longDir}/${"f".repeat(200)}`,
        "tmp/héllo wörld ✓",
        "tmp/z",
      ],
    );
    assert.equal(byPath.get("bin/ping")?.entry.mode, 0o4755);
    assert.equal(byPath.get("bin/ping")?.entry.xattrs["security.capability"], capability.toString("hex"));
    assert.equal(byPath.get("bin/ping")?.content, "ELF");
    assert.equal(byPath.get("tmp/")?.entry.mode, 0o1777);
    assert.deepEqual(
      [byPath.get("tmp/a")?.entry.uid, byPath.get("tmp/a")?.entry.gid],
      [3_000_000, 2_500_000],
    );
    assert.equal(byPath.get("tmp/c")?.entry.type, "hardlink");
    assert.equal(byPath.get("tmp/c")?.entry.linkname, "tmp/b");
    assert.equal(byPath.get("tmp/c")?.content, "");
    assert.equal(byPath.get("tmp/héllo wörld ✓")?.content, "unicode");
    assert.equal(byPath.get("tmp/z")?.entry.linkname, `/${"t".repeat(150)}/ü`);
    assert.deepEqual(
      [byPath.get("dev/null")?.entry.devmajor, byPath.get("dev/null")?.entry.devminor],
      [1, 3],
    );
    assert.equal(byPath.get("dev/sda")?.entry.type, "block");
    assert.equal(byPath.get("fifo")?.entry.type, "fifo");
  });

  it("is deterministic: the same entries give the same bytes", async () => {
    const a = await writeTar(sampleItems());
    const b = await writeTar(sampleItems());
    assert.equal(createHash("sha256").update(a).digest("hex"), createHash("sha256").update(b).digest("hex"));
  });

  it("writes numeric owners only and ends with two zero blocks", async () => {
    const tar = await writeTar([fileItem({ ...base, path: "f", uid: 1000, gid: 1000 }, "x")]);
    // ustar uname at 265 and gname at 297, 32 bytes each.
    assert.ok(tar.subarray(265, 329).every((b) => b === 0));
    assert.equal(tar.length % 512, 0);
    assert.ok(tar.subarray(tar.length - 1024).every((b) => b === 0));
  });

  it("keeps sub-second mtimes only when asked, and clamps to SOURCE_DATE_EPOCH", async () => {
    const entry = fileItem({ ...base, path: "f", mtime: t(1700000000, 123456789) }, "x");
    const [coarse] = await readBack(await writeTar([entry]));
    assert.deepEqual(coarse?.entry.mtime, t(1700000000));
    const [fine] = await readBack(await writeTar([entry], { mtimePrecision: "nanosecond" }));
    assert.deepEqual(fine?.entry.mtime, t(1700000000, 123456789));
    const clamped = await readBack(
      await writeTar(
        [
          fileItem({ ...base, path: "new", mtime: t(1800000000, 5) }, "n"),
          fileItem({ ...base, path: "old", mtime: t(1000) }, "o"),
        ],
        { clampMtime: 1600000000, mtimePrecision: "nanosecond" },
      ),
    );
    assert.deepEqual(
      clamped.map((c) => c.entry.mtime),
      [t(1600000000), t(1000)],
    );
  });

  it("writes sizes beyond ustar's 8 GiB in PAX", async () => {
    const size = 9 * 1024 ** 3 + 17;
    const header = encodeEntryHeader({ ...base, path: "huge", type: "file", size });
    assert.match(header.toString("latin1"), /\d+ size=9663676433\n/);
    for await (const e of readTar(chunksOf(header))) {
      assert.equal(e.size, size);
      break;
    }
  });

  it("refuses entries out of layer order and files that change size", async () => {
    await assert.rejects(
      writeTar([fileItem({ ...base, path: "b" }, "1"), fileItem({ ...base, path: "a" }, "2")]),
      /out of order/,
    );
    const lying: LayerTarItem = {
      entry: { ...base, path: "f", type: "file", size: 10 },
      open: async function* () {
        yield Buffer.from("short");
      },
    };
    await assert.rejects(
      writeTar([lying]),
      (e: unknown) => e instanceof UserError && /changed while/.test(e.message),
    );
  });

  it("is readable by an independent reader (tar-stream)", async () => {
    const tar = await writeTar(sampleItems());
    const extract = tarStream.extract();
    const seen: Array<[string, string, string]> = [];
    const done = new Promise<void>((resolve, reject) => {
      extract.on("entry", (header, stream, next) => {
        const parts: Buffer[] = [];
        stream.on("data", (c: unknown) => {
          parts.push(c as Buffer);
        });
        stream.on("end", () => {
          seen.push([header.name, header.type ?? "", Buffer.concat(parts).toString()]);
          next();
        });
      });
      extract.on("finish", resolve);
      extract.on("error", reject);
    });
    extract.end(tar);
    await done;
    const names = seen.map(([n]) => n);
    assert.ok(names.includes(`tmp/${longDir}/${"f".repeat(200)}`));
    assert.ok(names.includes("tmp/héllo wörld ✓"));
    assert.deepEqual(
      seen.find(([n]) => n === "bin/ping"),
      ["bin/ping", "file", "ELF"],
    );
    assert.deepEqual(seen.find(([n]) => n === "tmp/c")?.[1], "link");
  });

  it("reads GNU long names and rejects corrupt or hostile headers", async () => {
    const long = `${"g".repeat(300)}/file`;
    const longBody = Buffer.concat([Buffer.from(`${long}\0`), Buffer.alloc(512 - ((long.length + 1) % 512))]);
    const gnu = Buffer.concat([
      encodeHeader({
        name: "././@LongLink",
        mode: 0,
        uid: 0,
        gid: 0,
        size: long.length + 1,
        mtime: 0,
        typeflag: Typeflag.gnuLongName,
        linkname: "",
        devmajor: 0,
        devminor: 0,
      }),
      longBody,
      encodeHeader({
        name: "short",
        mode: 0o600,
        uid: 1,
        gid: 2,
        size: 0,
        mtime: 5,
        typeflag: Typeflag.file,
        linkname: "",
        devmajor: 0,
        devminor: 0,
      }),
      Buffer.alloc(1024),
    ]);
    const [entry] = await readBack(gnu);
    assert.equal(entry?.entry.path, long);
    assert.equal(entry?.entry.uid, 1);

    const good = await writeTar([fileItem({ ...base, path: "f" }, "content")]);
    const corrupt = Buffer.from(good);
    corrupt[10] = 0x41;
    await assert.rejects(
      readBack(corrupt),
      (e: unknown) => e instanceof UserError && /checksum/.test(e.message),
    );
    await assert.rejects(
      readBack(good.subarray(0, 600)),
      (e: unknown) => e instanceof UserError && /end of data/.test(e.message),
    );
    const hugePax = encodeHeader({
      name: "PaxHeaders/x",
      mode: 0,
      uid: 0,
      gid: 0,
      size: 50 * 1024 * 1024,
      mtime: 0,
      typeflag: Typeflag.pax,
      linkname: "",
      devmajor: 0,
      devminor: 0,
    });
    await assert.rejects(
      readBack(hugePax),
      (e: unknown) => e instanceof UserError && /oversized PAX/.test(e.message),
    );
  });

  it("skips content the consumer does not read", async () => {
    const tar = await writeTar([
      fileItem({ ...base, path: "a" }, "x".repeat(5000)),
      fileItem({ ...base, path: "b" }, "y"),
    ]);
    const names: string[] = [];
    let last = "";
    for await (const e of readTar(chunksOf(tar, 100))) {
      names.push(e.name);
      if (e.name === "b") last = (await collect(e.body)).toString();
      else {
        for await (const _ of e.body) break; // read one chunk only
      }
    }
    assert.deepEqual(names, ["a", "b"]);
    assert.equal(last, "y");
  });

  it("round-trips arbitrary entries (property)", async () => {
    const name = fc
      .stringMatching(/^[a-zA-Z0-9._\u00e9\u4e2d-]{1,40}$/)
      .filter((n) => n !== "." && n !== "..");
    const arbEntry = fc.record({
      path: fc.array(name, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("/")),
      mode: fc.integer({ min: 0, max: 0o7777 }),
      uid: fc.integer({ min: 0, max: 2 ** 32 - 2 }),
      gid: fc.integer({ min: 0, max: 2 ** 32 - 2 }),
      sec: fc.integer({ min: 0, max: 2 ** 34 }),
      nsec: fc.integer({ min: 0, max: 999_999_999 }),
      content: fc.uint8Array({ maxLength: 1500 }),
      xattr: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(arbEntry, { selector: (e) => e.path, maxLength: 8 }), async (raw) => {
        const entries = sortByLayerPath(raw, (e) => e.path);
        const items: LayerTarItem[] = entries.map((e) => ({
          entry: {
            path: e.path,
            type: "file",
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime: t(e.sec, e.nsec),
            size: e.content.length,
            ...(e.xattr ? { xattrs: new Map([["user.test", e.xattr]]) } : {}),
          },
          open: async function* () {
            yield e.content;
          },
        }));
        const back = await readBack(await writeTar(items, { mtimePrecision: "nanosecond" }));
        assert.deepEqual(
          back.map((b) => [
            b.entry.path,
            b.entry.mode,
            b.entry.uid,
            b.entry.gid,
            b.entry.mtime,
            b.content,
            b.entry.xattrs["user.test"],
          ]),
          entries.map((e) => [
            e.path,
            e.mode,
            e.uid,
            e.gid,
            t(e.sec, e.nsec),
            Buffer.from(e.content).toString("latin1"),
            e.xattr ? Buffer.from(e.xattr).toString("hex") : undefined,
          ]),
        );
      }),
      { numRuns: 60 },
    );
  });
});
