import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../../../src/errors/user-error.ts";
import { parseUserSpec, resolveUser } from "../../../../src/worker/executor/user.ts";

const passwd = [
  "root:x:0:0:root:/root:/bin/sh",
  "# a comment",
  "app:x:1000:1000:app:/home/app:/bin/sh",
  "broken line",
  "svc:x:998:997::/var/lib/svc:/sbin/nologin",
  "nohome:x:1001:1001:::/bin/sh",
  "",
].join("\n");

const group = [
  "root:x:0:",
  "wheel:x:10:app,svc",
  "app:x:1000:",
  "docker:x:999:app",
  "svcgrp:x:997:",
  "",
].join("\n");

test("user spec splits into user and group; empty means root", () => {
  assert.deepEqual(parseUserSpec(""), { user: "0", group: undefined });
  assert.deepEqual(parseUserSpec("app"), { user: "app", group: undefined });
  assert.deepEqual(parseUserSpec("app:wheel"), { user: "app", group: "wheel" });
  assert.deepEqual(parseUserSpec("1000:"), { user: "1000", group: undefined });
  assert.deepEqual(parseUserSpec(":10"), { user: "0", group: "10" });
});

test("a name resolves to its uid, primary gid, supplementary groups (the primary one first) and HOME", () => {
  assert.deepEqual(resolveUser("app", passwd, group), {
    uid: 1000,
    gid: 1000,
    additionalGids: [1000, 10, 999],
    home: "/home/app",
  });
});

test("root is the default and gets /root as HOME", () => {
  assert.deepEqual(resolveUser("", passwd, group), { uid: 0, gid: 0, additionalGids: [0], home: "/root" });
});

test("a numeric uid with a passwd entry takes that entry's gid and home", () => {
  assert.deepEqual(resolveUser("998", passwd, group), {
    uid: 998,
    gid: 997,
    additionalGids: [997, 10],
    home: "/var/lib/svc",
  });
});

test("numeric ids need no entry at all; HOME falls back to /", () => {
  assert.deepEqual(resolveUser("4242:4343", passwd, group), {
    uid: 4242,
    gid: 4343,
    additionalGids: [4343],
    home: "/",
  });
  assert.deepEqual(resolveUser("4242", undefined, undefined), {
    uid: 4242,
    gid: 0,
    additionalGids: [0],
    home: "/",
  });
});

test("an explicit group replaces the primary group and drops the /etc/group memberships", () => {
  assert.deepEqual(resolveUser("app:docker", passwd, group), {
    uid: 1000,
    gid: 999,
    additionalGids: [999],
    home: "/home/app",
  });
  assert.equal(resolveUser("app:55", passwd, group).gid, 55);
  assert.deepEqual(resolveUser("app:55", passwd, group).additionalGids, [55]);
});

test("an empty home field gives /", () => {
  assert.equal(resolveUser("nohome", passwd, group).home, "/");
});

test("an unknown user name is a clear error naming the user", () => {
  assert.throws(
    () => resolveUser("ghost", passwd, group),
    (e: unknown) =>
      e instanceof UserError && /unable to find user ghost/.test(e.message) && /adduser/.test(e.hint ?? ""),
  );
  assert.throws(() => resolveUser("app", undefined, group), /unable to find user app: .*does not exist/);
});

test("an unknown group name is a clear error naming the group", () => {
  assert.throws(() => resolveUser("app:ghosts", passwd, group), /unable to find group ghosts/);
});
