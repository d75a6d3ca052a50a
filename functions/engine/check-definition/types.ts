import type { StudyDefinition } from "../definition.ts";

export interface SourceFile {
  /** Path as shown to the user (relative to the repository root when possible). */
  path: string;
  json: unknown;
}

export interface DefinitionFiles {
  study: SourceFile;
  instruments: SourceFile[];
}

export interface DefinitionError {
  file: string;
  /** JSON pointer into the file ("" for the whole file). */
  pointer: string;
  message: string;
}

export interface CheckResult {
  /** Present only when there is no error; `version` is 0 (not yet published). */
  definition?: StudyDefinition;
  errors: DefinitionError[];
}

export type Reporter = (pointer: string, message: string) => void;
