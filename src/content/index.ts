export { BlobNotFoundError, SizeMismatchError } from "./errors.ts";
export { LocalContentStore, openContentStore } from "./local-store.ts";
export { defaultContentRoot, defaultStateDir } from "./paths.ts";
export { prepareStateRoot } from "./state-root.ts";
export type {
  BlobInfo,
  BlobIngester,
  BlobManager,
  BlobProvider,
  BlobSource,
  BlobWriter,
  ContentStore,
  ExpectedBlob,
  GcOptions,
  GcResult,
  StoreRef,
  WriteOptions,
} from "./types.ts";
export { distributionSourceLabelPrefix, gcRefLabelPrefix } from "./types.ts";
export { CorruptBlobError } from "./verified-read.ts";
