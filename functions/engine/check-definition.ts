import { fileId } from "./check-definition/helpers.ts";
import { checkInstrument } from "./check-definition/instrument.ts";
import { metaErrors } from "./check-definition/meta.ts";
import { metaValidators } from "./check-definition/meta-validators.ts";
import { checkPiping } from "./check-definition/piping.ts";
import {
  checkRepeatingUse,
  checkSdvCritical,
  checkStudy,
  checkStudyStart,
  checkTimeZone,
} from "./check-definition/study.ts";
import type { CheckResult, DefinitionError, DefinitionFiles, SourceFile } from "./check-definition/types.ts";
import { type Instrument, instrumentsById, type StudyFile } from "./definition.ts";

/**
 * Checks a protocol given as parsed files (no I/O here): first each file
 * against its meta-schema, then what a schema cannot say — references between
 * the study and its instruments, JSON Logic operators and variables, choice
 * codes, patterns, day/window consistency. Every problem is reported with the
 * file, a JSON pointer into that file and a message; nothing stops at the
 * first error.
 */

export { RESERVED_NAMES } from "./check-definition/helpers.ts";
export type { CheckResult, DefinitionError, DefinitionFiles, SourceFile } from "./check-definition/types.ts";

export function checkDefinition(files: DefinitionFiles): CheckResult {
  const { study: validateStudy, instrument: validateInstrument } = metaValidators();
  const errors: DefinitionError[] = [];

  const studyErrors = metaErrors(validateStudy, files.study);
  errors.push(...studyErrors);

  /** id → instrument (undefined when its file failed the meta-schema, so its fields are unknown). */
  const instruments = new Map<string, Instrument | undefined>();
  const sources = new Map<string, SourceFile>();
  for (const file of files.instruments) {
    const id = fileId(file.path);
    const fileErrors = metaErrors(validateInstrument, file);
    errors.push(...fileErrors);
    if (sources.has(id)) {
      errors.push({
        file: file.path,
        pointer: "",
        message: `duplicate instrument "${id}" (also ${sources.get(id)?.path})`,
      });
      continue;
    }
    sources.set(id, file);
    instruments.set(id, fileErrors.length === 0 ? (file.json as Instrument) : undefined);
  }

  for (const [id, instrument] of instruments) {
    const file = sources.get(id);
    if (instrument && file) checkInstrument(file, instrument, instruments, errors);
  }

  if (studyErrors.length === 0) {
    const study = files.study.json as StudyFile;
    checkStudy(files.study, study, instruments, errors);
    checkRepeatingUse(sources, study, instruments, errors);
    checkStudyStart(files.study, study, sources, instruments, errors);
    checkTimeZone(files.study, study, errors);
    checkSdvCritical(sources, instruments, errors);
    checkPiping(sources, study, instruments, errors);
  }

  if (errors.length > 0) return { errors };
  const byId = instrumentsById(
    [...instruments].filter((entry): entry is [string, Instrument] => entry[1] !== undefined),
  );
  return { definition: { version: 0, study: files.study.json as StudyFile, instruments: byId }, errors };
}
