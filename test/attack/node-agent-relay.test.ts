// A compromised node speaks to the client's forwarded ssh agent (--ssh on a farm build): it may list keys
// and ask for signatures, as a step would, but it cannot remove, add or lock the user's keys, reach an
// agent id the build does not forward, or send something that is not one agent message.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before } from "node:test";
import { sshAgents } from "../../src/api/build/ssh-agents.ts";
import { relayAgentsForNode } from "../../src/api/builders/agent-relay.ts";
import { Wire } from "../../src/api/builders/wire.ts";
import { runOk } from "../harness/exec.ts";
import { type SshFixture, startSshFixture } from "../harness/ssh.ts";
import { attack } from "./support/attack.ts";

let ssh: SshFixture;
before(async () => {
  ssh = await startSshFixture();
});
after(async () => {
  await ssh?.[Symbol.asyncDispose]();
});

const frame = (...body: number[]) => {
  const b = Buffer.alloc(4 + body.length);
  b.writeUInt32BE(body.length, 0);
  Buffer.from(body).copy(b, 4);
  return b.toString("base64");
};

attack(
  "a node cannot remove, add or lock the client's agent keys, nor reach an agent not forwarded",
  async () => {
    const agentSock = await ssh.agent();
    const agents = sshAgents([{ id: "default", paths: [] }], { SSH_AUTH_SOCK: agentSock });
    const toNode = new PassThrough();
    const toClient = new PassThrough();
    const client = new Wire(toClient, toNode);
    const node = new Wire(toNode, toClient);
    relayAgentsForNode(client, ["default"], agents);
    try {
      // What a step needs: the key list comes back (SSH_AGENT_IDENTITIES_ANSWER, 12) with one key.
      const list = await node.request("agent", { agent: "default", conn: 1, data: frame(11) });
      const answer = Buffer.from(list.data as string, "base64");
      assert.equal(answer[4], 12);
      assert.equal(answer.readUInt32BE(5), 1);
      // SSH_AGENTC_REMOVE_ALL_IDENTITIES (19), REMOVE_IDENTITY (18), LOCK (22): refused, never sent on.
      for (const type of [19, 22]) {
        const r = await node.request("agent", { agent: "default", conn: 1, data: frame(type) });
        assert.equal(Buffer.from(r.data as string, "base64")[4], 5, `type ${type} answered`);
      }
      // An agent id the build does not forward, and bytes that are not one message.
      await assert.rejects(
        node.request("agent", { agent: "other", conn: 2, data: frame(11) }),
        /ssh agent this build does not forward/,
      );
      await assert.rejects(
        node.request("agent", {
          agent: "default",
          conn: 1,
          data: Buffer.from([0, 0, 0, 9, 11]).toString("base64"),
        }),
        /not one message/,
      );
      // The key is still in the user's agent.
      const keys = await runOk("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
      assert.ok(keys.stdout.includes(ssh.fingerprint.split(" ")[1]!), keys.stdout);
    } finally {
      client.close(new Error("done"));
      node.close(new Error("done"));
      await agents.close();
    }
  },
);
