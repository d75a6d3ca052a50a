import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { DefinitionReader } from "./definitions.ts";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { keys } from "./keys.ts";
import type { MacKey } from "./mac-key.ts";
import { setGrant } from "./people.ts";
import { ALL_SITES, type RoleGrant } from "./principal.ts";

/**
 * A study an admin created on this deployment, before (and after) its first
 * definition is published. Studies published without one (forms/ at start, the
 * CDK deploy) exist through their definition alone.
 */
export interface StudyRecord {
  id: string;
  title?: string;
  createdAt: string;
  createdBy: string;
}

export async function findStudyRecord(db: Db, id: string): Promise<StudyRecord | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: { PK: keys.study(id), SK: keys.studyRecord } }),
  );
  if (!Item) return undefined;
  return {
    id: String(Item.id),
    ...(typeof Item.title === "string" ? { title: Item.title } : {}),
    createdAt: String(Item.createdAt),
    createdBy: String(Item.createdBy),
  };
}

/** False when the study was created already (the item is written once, conditionally). */
export async function putStudyRecord(db: Db, record: StudyRecord): Promise<boolean> {
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { PK: keys.study(record.id), SK: keys.studyRecord, ...record },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export interface CreateStudyRequest {
  id: string;
  title?: string;
  /** The person who sets the study up: granted admin and builder at it, at every site. */
  owner: string;
  by: string;
  now?: Date;
}

/** What the one who creates a study holds there: enough to publish its definition and grant the people. */
export const FOUNDER_ROLES: RoleGrant[] = [
  { role: "admin", sites: [ALL_SITES] },
  { role: "builder", sites: [ALL_SITES] },
];

/**
 * Creates a study: refused (`exists`) when it was created or published
 * already, so nobody takes over a study by creating it again.
 */
export async function createStudy(
  db: Db,
  macKey: MacKey,
  definitions: DefinitionReader,
  req: CreateStudyRequest,
): Promise<{ kind: "created"; study: StudyRecord } | { kind: "exists" }> {
  if (await definitions.current(req.id)) return { kind: "exists" };
  const study: StudyRecord = {
    id: req.id,
    ...(req.title ? { title: req.title } : {}),
    createdAt: (req.now ?? new Date()).toISOString(),
    createdBy: req.by,
  };
  if (!(await putStudyRecord(db, study))) return { kind: "exists" };
  await setGrant(db, macKey, { study: req.id, person: req.owner, roles: FOUNDER_ROLES }, req.by);
  return { kind: "created", study };
}

/** Whether the study is hosted here: created by an admin, or published. */
export async function studyExists(db: Db, definitions: DefinitionReader, id: string): Promise<boolean> {
  return Boolean((await definitions.current(id)) ?? (await findStudyRecord(db, id)));
}
