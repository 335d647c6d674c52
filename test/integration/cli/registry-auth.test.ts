import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePlatform } from "../../../src/oci/platform.ts";
import { runOk } from "../../harness/exec.ts";
import { pushBusyboxImage, pushSinglePlatformImage } from "../../harness/images.ts";
import { type RegistryAuth, startRegistry } from "../../harness/registry.ts";
import { polyarch, tempStateRoot } from "../../support/cli.ts";

for (const auth of ["basic", "token"] as RegistryAuth[]) {
  test(`${auth} auth${auth === "basic" ? " over TLS" : ""}: inspect and create with DOCKER_CONFIG credentials; secrets never printed`, async (t) => {
    await using reg = await startRegistry({ auth, tls: auth === "basic" });
    await using state = await tempStateRoot();
    await pushBusyboxImage(reg);
    await pushSinglePlatformImage(reg, "solo:arm64", parsePlatform("linux/arm64"));
    const password = reg.credentials!.password;

    for (const via of ["auths", "credHelpers"] as const) {
      await t.test(`credentials via ${via}`, async () => {
        const cfg = await reg.dockerConfig({ via });
        const env = {
          ...reg.env(),
          ...cfg.env,
          PATH: `${cfg.env.PATH ?? ""}:${process.env.PATH}`,
          POLYARCH_ROOT: state.dir,
        };
        const inspect = await polyarch(
          ["--debug", "imagetools", "inspect", reg.ref("library/busybox:latest")],
          { env },
        );
        assert.equal(inspect.code, 0, inspect.stderr);
        assert.equal([...inspect.stdout.matchAll(/Platform:/g)].length, 3);
        const create = await polyarch(
          [
            "--debug",
            "imagetools",
            "create",
            "-t",
            reg.ref(`multi:${via}`),
            reg.ref("library/busybox:latest"),
            reg.ref("solo:arm64"),
          ],
          { env },
        );
        assert.equal(create.code, 0, create.stderr);
        for (const out of [inspect.stdout, inspect.stderr, create.stdout, create.stderr]) {
          assert.ok(!out.includes(password), "the password must never be printed");
          assert.doesNotMatch(
            out,
            /Bearer [A-Za-z0-9._-]{20,}|Basic [A-Za-z0-9+/=]{8,}/,
            "no token or auth header in output",
          );
        }
        assert.match(
          inspect.stderr,
          /^debug: GET https:\/\/|^debug: GET http:\/\//m,
          "--debug shows the HTTP exchanges",
        );
      });
    }

    if (auth === "token") {
      const scopes = reg.tokenServer!.scopesRequested();
      assert.ok(
        scopes.some((s) => s === "repository:library/busybox:pull"),
        `pull scope requested: ${scopes.join(" ")}`,
      );
      assert.ok(
        scopes.some((s) => /^repository:multi:.*push/.test(s)),
        `push scope requested: ${scopes.join(" ")}`,
      );
    }
    const index = JSON.parse(
      (
        await runOk("skopeo", [
          "inspect",
          "--raw",
          ...reg.skopeoFlags(),
          `docker://${reg.ref("multi:auths")}`,
        ])
      ).stdout,
    ) as { manifests: unknown[] };
    assert.equal(index.manifests.length, 3, "amd64 and arm/v7 from busybox, arm64 replaced by solo");

    await t.test("a wrong password is a clear error and is not printed", async () => {
      const cfg = await reg.dockerConfig({ password: "wrong-password-123" });
      const r = await polyarch(["--debug", "imagetools", "inspect", reg.ref("library/busybox:latest")], {
        env: { ...reg.env(), ...cfg.env, POLYARCH_ROOT: state.dir },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: authentication to 127\.0\.0\.1:\d+ failed/m);
      assert.match(r.stderr, /^hint: check the (username and password|credentials) saved for/m);
      assert.ok(!r.stderr.includes("wrong-password-123") && !r.stdout.includes("wrong-password-123"));
    });

    await t.test("no credentials at all says to log in", async () => {
      const r = await polyarch(["imagetools", "inspect", reg.ref("library/busybox:latest")], {
        env: { ...reg.env(), DOCKER_CONFIG: state.dir, POLYARCH_ROOT: state.dir },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /log in first/);
    });
  });
}

test("TLS without the CA is refused with a hint, not silently downgraded", async () => {
  await using reg = await startRegistry({ auth: "basic", tls: true });
  await using state = await tempStateRoot();
  const cfg = await reg.dockerConfig();
  const r = await polyarch(["imagetools", "inspect", reg.ref("library/busybox:latest")], {
    env: { ...cfg.env, POLYARCH_ROOT: state.dir, POLYARCH_REGISTRY_CERTS_DIR: state.dir },
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not trusted|certificate/i);
});
