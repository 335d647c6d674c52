export type { LayoutBlobInput } from "./blob-input.ts";
export type { LayoutBlobOpener, LayoutBlobSource } from "./blob-source.ts";
export { type WriteDirOptions, writeLayoutDirectory } from "./dir-output.ts";
export { OciLayoutReader, openOciLayout } from "./reader.ts";
export {
  blobRelativePath,
  imageLayoutVersion,
  imageNameAnnotation,
  indexFileName,
  layoutFileName,
  refNameAnnotation,
  refNameOf,
} from "./spec.ts";
export { layoutTarStream, type TarOptions, writeLayoutTar } from "./tar-output.ts";
export { type IndexEntryNames, OciLayoutWriter } from "./writer.ts";
