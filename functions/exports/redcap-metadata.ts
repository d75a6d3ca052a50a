import { LOGS_EVENT, type StudyDefinition } from "../engine/definition.ts";
import { formOrder } from "../engine/form-order.ts";
import { eventFormsFor } from "../engine/slots.ts";
import { armNumber, exportNames, isLongitudinal, recordIdField, uniqueEventName } from "./flat.ts";

/**
 * The study's schedule in REDCap's metadata shapes (arms, events,
 * form–event mapping, instruments, export field names), as REDCap's API and
 * its CSV downloads give them. The repeating logs appear as one more event,
 * `logs`, in every arm, holding the repeating instruments. Arms are numbered
 * as the protocol numbers them (`arms[].number`), and each arm's events map
 * the forms that arm collects there (`armForms`).
 */

interface EventRow {
  id: string;
  label: string;
  /** The forms of the event for a subject of `arm`. */
  forms: (arm: string) => string[];
  arms?: string[];
}

function eventRows(definition: StudyDefinition): EventRow[] {
  return [
    ...definition.study.events.map((e) => ({
      id: e.id,
      label: e.label,
      forms: (arm: string) => eventFormsFor(e, arm),
      arms: e.arms,
    })),
    { id: LOGS_EVENT, label: "Logs", forms: () => definition.study.logs },
  ];
}

export function redcapArms(definition: StudyDefinition) {
  return definition.study.arms.map((a) => ({ arm_num: armNumber(definition, a.id), name: a.label }));
}

export function redcapEvents(definition: StudyDefinition) {
  return definition.study.arms.flatMap((arm) => {
    const n = armNumber(definition, arm.id);
    return eventRows(definition)
      .filter((e) => !e.arms || e.arms.includes(arm.id))
      .map((e, j) => ({
        event_name: e.label,
        arm_num: n,
        unique_event_name: uniqueEventName(definition, e.id, arm.id),
        custom_event_label: "",
        event_id: n * 1000 + j + 1,
      }));
  });
}

export function redcapFormEventMapping(definition: StudyDefinition) {
  return definition.study.arms.flatMap((arm) =>
    eventRows(definition)
      .filter((e) => !e.arms || e.arms.includes(arm.id))
      .flatMap((e) =>
        e.forms(arm.id).map((form) => ({
          arm_num: armNumber(definition, arm.id),
          unique_event_name: uniqueEventName(definition, e.id, arm.id),
          form,
        })),
      ),
  );
}

export function redcapInstruments(definition: StudyDefinition) {
  return formOrder(definition).map((id) => ({
    instrument_name: id,
    instrument_label: definition.instruments[id]?.title ?? id,
  }));
}

/**
 * REDCap's export field names; `original_field_name` is the data dictionary's
 * (unique) name. As REDCap: the record id first, each form's `_complete` after
 * its fields, and no row for what cannot be imported (descriptive text,
 * calculations).
 */
export function redcapExportFieldNames(definition: StudyDefinition) {
  const names = exportNames(definition);
  const id = recordIdField(definition);
  const row = (name: string, choice = "", exported = name) => ({
    original_field_name: name,
    choice_value: choice,
    export_field_name: exported,
  });
  return [
    row(id),
    ...formOrder(definition).flatMap((form) => [
      ...Object.entries(definition.instruments[form]?.properties ?? {}).flatMap(([field, schema]) => {
        const name = names.get(form)?.get(field) ?? field;
        if (schema.type === "null" || schema["x-widget"] === "descriptive" || schema["x-calc"] !== undefined)
          return [];
        return schema.type === "array"
          ? (schema.items?.oneOf ?? []).map((c) => row(name, String(c.const), `${name}___${c.const}`))
          : [row(name)];
      }),
      row(`${form}_complete`),
    ]),
  ];
}

/**
 * REDCap's repeating instruments and events: each repeatable event as a whole
 * (`form_name` empty), each form repeating at one event (`repeatingForms`,
 * where the arm collects it), each log on the `logs` event of every arm. A
 * classic study has no event column, as REDCap's classic projects.
 */
export function redcapRepeatingFormsEvents(definition: StudyDefinition) {
  const longitudinal = isLongitudinal(definition);
  const row = (event: string, arm: string, form: string) =>
    longitudinal
      ? { event_name: uniqueEventName(definition, event, arm), form_name: form, custom_form_label: "" }
      : { form_name: form, custom_form_label: "" };
  return definition.study.arms.flatMap((arm) => {
    const events = definition.study.events.filter((e) => !e.arms || e.arms.includes(arm.id));
    return [
      ...events.filter((e) => e.repeatable === true).map((e) => row(e.id, arm.id, "")),
      ...events
        .filter((e) => e.repeatable !== true)
        .flatMap((e) =>
          (e.repeatingForms ?? [])
            .filter((form) => eventFormsFor(e, arm.id).includes(form))
            .map((form) => row(e.id, arm.id, form)),
        ),
      ...definition.study.logs.map((form) => row(LOGS_EVENT, arm.id, form)),
    ];
  });
}

/** The metadata tables by the name the API gives them (`/metadata/{kind}`). */
export const REDCAP_METADATA = {
  arms: redcapArms,
  events: redcapEvents,
  "form-event-mapping": redcapFormEventMapping,
  instruments: redcapInstruments,
  "export-field-names": redcapExportFieldNames,
} as const;
