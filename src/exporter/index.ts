export { annotationsFor } from "./annotations.ts";
export { exportImages } from "./export.ts";
export type {
  AnnotationSpec,
  AnnotationTarget,
  ImageOptions,
  ImageOutput,
  LayoutOutput,
  LoadOutput,
  OutputSpec,
  RootfsOutput,
} from "./output-spec.ts";
export { type OutputFlags, parseOutputs } from "./parse-outputs.ts";
export type { BuiltImage, BuiltLayer, ExportRequest, ExportResult, ProgressEvent } from "./types.ts";
