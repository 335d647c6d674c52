/** Hashing bytes as they flow past, so that a layer's digests cost no second read. */
import { Transform, type TransformCallback } from "node:stream";
import { Digester } from "../digest.ts";

export class DigestingStream extends Transform {
  readonly digester = new Digester("sha256");

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.digester.update(chunk);
    callback(null, chunk);
  }
}
