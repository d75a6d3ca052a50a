import { LOGS_EVENT, type StudyDefinition } from "../engine/definition.ts";
import { formOrder } from "../engine/form-order.ts";
import { exportNames, isLongitudinal, recordIdField, uniqueEventName } from "./flat.ts";

/**
 * The study's schedule in REDCap's metadata shapes (arms, events,
 * form–event mapping, instruments, export field names), as REDCap's API and
 * its CSV downloads give them. The repeating logs appear as one more event,
 * `logs`, in every arm, holding the repeating instruments.
 */

interface EventRow {
  id: string;
  label: string;
  forms: string[];
  arms?: string[];
}

function eventRows(definition: StudyDefinition): EventRow[] {
  return [
    ...definition.study.events.map((e) => ({ id: e.id, label: e.label, forms: e.forms, arms: e.arms })),
    { id: LOGS_EVENT, label: "Logs", forms: definition.study.logs },
  ];
}

export function redcapArms(definition: StudyDefinition) {
  return definition.study.arms.map((a, i) => ({ arm_num: i + 1, name: a.label }));
}

export function redcapEvents(definition: StudyDefinition) {
  return definition.study.arms.flatMap((arm, i) =>
    eventRows(definition)
      .filter((e) => !e.arms || e.arms.includes(arm.id))
      .map((e, j) => ({
        event_name: e.label,
        arm_num: i + 1,
        unique_event_name: uniqueEventName(definition, e.id, arm.id),
        custom_event_label: "",
        event_id: (i + 1) * 1000 + j + 1,
      })),
  );
}

export function redcapFormEventMapping(definition: StudyDefinition) {
  return definition.study.arms.flatMap((arm, i) =>
    eventRows(definition)
      .filter((e) => !e.arms || e.arms.includes(arm.id))
      .flatMap((e) =>
        e.forms.map((form) => ({
          arm_num: i + 1,
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
 * REDCap's repeating instruments and events: each log on the `logs` event of
 * every arm, each repeatable event as a whole (`form_name` empty). A classic
 * study has no event column, as REDCap's classic projects.
 */
export function redcapRepeatingFormsEvents(definition: StudyDefinition) {
  const longitudinal = isLongitudinal(definition);
  return definition.study.arms.flatMap((arm) => [
    ...definition.study.events
      .filter((e) => e.repeatable === true && (!e.arms || e.arms.includes(arm.id)))
      .map((e) => ({
        event_name: uniqueEventName(definition, e.id, arm.id),
        form_name: "",
        custom_form_label: "",
      })),
    ...definition.study.logs.map((form) =>
      longitudinal
        ? {
            event_name: uniqueEventName(definition, LOGS_EVENT, arm.id),
            form_name: form,
            custom_form_label: "",
          }
        : { form_name: form, custom_form_label: "" },
    ),
  ]);
}

/** The metadata tables by the name the API gives them (`/metadata/{kind}`). */
export const REDCAP_METADATA = {
  arms: redcapArms,
  events: redcapEvents,
  "form-event-mapping": redcapFormEventMapping,
  instruments: redcapInstruments,
  "export-field-names": redcapExportFieldNames,
} as const;
