export { annotationsFor } from "./annotations.ts";
export { exportImages, outputsReadTrees } from "./export.ts";
export {
  type Exporter,
  type ExporterInstance,
  type ExportOutcome,
  type ExportSession,
  exporterFor,
  type ResolveOptions,
  registerExporter,
} from "./exporter.ts";
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
export type {
  BuiltImage,
  BuiltLayer,
  ExportRequest,
  ExportResult,
  ProgressEvent,
  ResultTree,
} from "./types.ts";
