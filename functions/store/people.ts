import { createHash } from "node:crypto";
import { GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type AccessOrigin, appendAccessLog } from "./access-log.ts";
import { type Db, isConditionFailure, queryBySite } from "./dynamo.ts";
import { type Item, optionalText, text, texts } from "./item-fields.ts";
import { keys } from "./keys.ts";
import type { MacKey } from "./mac-key.ts";
import { type RoleGrant, readRole } from "./principal.ts";
import { TABLE } from "./table-shape.ts";

/**
 * People and their grants as data. A person is whoever an OpenID provider
 * vouches for (issuer + sub); their name and email are the ID token's, updated
 * at each sign-in. A grant is one item per (study, person): the roles and sites
 * held there. Nothing is deleted: a revocation marks the item, and every grant,
 * change and revocation is appended to the item's history.
 */

export interface Person {
  id: string;
  issuer: string;
  sub: string;
  name?: string;
  email?: string;
  firstSeenAt: string;
  lastSignInAt?: string;
}

export interface GrantChange {
  at: string;
  by: string;
  action: "grant" | "change" | "revoke";
  roles: RoleGrant[];
  deidentified: boolean;
}

export interface Grant {
  study: string;
  person: string;
  roles: RoleGrant[];
  deidentified: boolean;
  grantedAt: string;
  grantedBy: string;
  revokedAt?: string;
  revokedBy?: string;
  history: GrantChange[];
}

/** Stable across sign-ins and name changes; two providers' equal subs stay two people. */
export function personId(issuer: string, sub: string): string {
  return createHash("sha256").update(`${issuer}\n${sub}`).digest("hex").slice(0, 24);
}

/** What the audit trail calls the person: the email, else the name, else the id. */
export function personLabel(person: Pick<Person, "id" | "name" | "email">): string {
  return person.email ?? person.name ?? person.id;
}

function toPerson(item: Item): Person {
  const [name, email, lastSignInAt] = ["name", "email", "lastSignInAt"].map((k) => optionalText(item, k));
  return {
    id: text(item, "id"),
    issuer: text(item, "issuer"),
    sub: text(item, "sub"),
    ...(name ? { name } : {}),
    ...(email ? { email } : {}),
    firstSeenAt: text(item, "firstSeenAt"),
    ...(lastSignInAt ? { lastSignInAt } : {}),
  };
}

/** Stored grants (a person's roles, a key's scope); entries naming no known role grant nothing and are dropped. */
export function readGrants(value: unknown): RoleGrant[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => {
    const role = readRole((entry as Item)?.role);
    return role ? [{ role, sites: texts(entry as Item, "sites") }] : [];
  });
}

function toGrant(item: Item): Grant {
  const [revokedAt, revokedBy] = ["revokedAt", "revokedBy"].map((k) => optionalText(item, k));
  const history = Array.isArray(item.history) ? (item.history as Item[]) : [];
  return {
    study: text(item, "study"),
    person: text(item, "person"),
    roles: readGrants(item.roles),
    deidentified: item.deidentified === true,
    grantedAt: text(item, "grantedAt"),
    grantedBy: text(item, "grantedBy"),
    ...(revokedAt ? { revokedAt } : {}),
    ...(revokedBy ? { revokedBy } : {}),
    history: history.map((h) => ({
      at: text(h, "at"),
      by: text(h, "by"),
      action: h.action === "revoke" ? "revoke" : h.action === "change" ? "change" : "grant",
      roles: readGrants(h.roles),
      deidentified: h.deidentified === true,
    })),
  };
}

/** Creates the person at their first sign-in, or refreshes name and email from the ID token. */
export async function upsertPerson(
  db: Db,
  signedIn: { issuer: string; sub: string; name?: string; email?: string },
  options: { now?: Date; signedIn?: boolean } = {},
): Promise<Person> {
  const id = personId(signedIn.issuer, signedIn.sub);
  const now = (options.now ?? new Date()).toISOString();
  const sets = [
    "id = :id",
    "issuer = :issuer",
    "#sub = :sub",
    "#type = :type",
    "firstSeenAt = if_not_exists(firstSeenAt, :now)",
    `${TABLE.indexes.bySite.partitionKey} = :index`,
    `${TABLE.indexes.bySite.sortKey} = :id`,
  ];
  const values: Record<string, unknown> = {
    ":id": id,
    ":issuer": signedIn.issuer,
    ":sub": signedIn.sub,
    ":type": "person",
    ":now": now,
    ":index": keys.peopleIndex,
  };
  const names: Record<string, string> = { "#sub": "sub", "#type": "type" };
  for (const field of ["name", "email"] as const) {
    const value = signedIn[field];
    if (value === undefined) continue;
    sets.push(`#${field} = :${field}`);
    names[`#${field}`] = field;
    values[`:${field}`] = value;
  }
  if (options.signedIn !== false) sets.push("lastSignInAt = :now");
  const { Attributes } = await db.doc.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: { PK: keys.person(id), SK: keys.personItem },
      UpdateExpression: `SET ${sets.join(", ")}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: "ALL_NEW",
    }),
  );
  return toPerson(Attributes as Item);
}

export async function findPerson(db: Db, id: string): Promise<Person | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: { PK: keys.person(id), SK: keys.personItem } }),
  );
  return Item ? toPerson(Item) : undefined;
}

export async function listPeople(db: Db): Promise<Person[]> {
  return (await queryBySite(db, keys.peopleIndex)).map(toPerson);
}

/** The person's grant at the study, revoked or not (one GetItem: every request of a session reads it). */
export async function findGrant(db: Db, study: string, person: string): Promise<Grant | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: { PK: keys.person(person), SK: keys.grant(study) } }),
  );
  return Item ? toGrant(Item) : undefined;
}

/** Every grant of the study, revoked ones included. */
export async function listGrants(db: Db, study: string): Promise<Grant[]> {
  return (await queryBySite(db, keys.grantIndex(study))).map(toGrant);
}

/** The studies where the person holds a grant that is not revoked. */
export async function grantsOfPerson(db: Db, person: string): Promise<Grant[]> {
  const { Items = [] } = await db.doc.send(
    new QueryCommand({
      TableName: db.tableName,
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :grant)",
      ExpressionAttributeValues: { ":pk": keys.person(person), ":grant": keys.grantPrefix },
    }),
  );
  return Items.map(toGrant).filter((g) => !g.revokedAt);
}

export interface GrantRequest {
  study: string;
  person: string;
  roles: RoleGrant[];
  deidentified?: boolean;
}

/** What the study's access log calls each kind of grant change. */
const LOGGED_AS: Record<GrantChange["action"], string> = {
  grant: "grant",
  change: "grant-change",
  revoke: "revoke",
};

/**
 * The one write of every grant, change and revocation: the item's current
 * state and its history entry in one update, then the study's access log
 * (who by, from where). A change whose log append fails is still made, and
 * the error is thrown: the grant item's own history holds it either way.
 */
export async function recordGrantChange(
  db: Db,
  macKey: MacKey,
  change: { study: string; person: string } & GrantChange,
  origin: AccessOrigin = {},
): Promise<void> {
  await writeGrantChange(db, change);
  await appendAccessLog(db, macKey, change.study, {
    ...origin,
    actor: change.by,
    action: LOGGED_AS[change.action],
    details: { person: change.person, roles: change.roles, deidentified: change.deidentified },
  });
}

async function writeGrantChange(db: Db, change: { study: string; person: string } & GrantChange) {
  const entry = {
    at: change.at,
    by: change.by,
    action: change.action,
    roles: change.roles,
    deidentified: change.deidentified,
  };
  const history = "history = list_append(if_not_exists(history, :empty), :entry)";
  const values: Record<string, unknown> = { ":entry": [entry], ":empty": [] };
  if (change.action === "revoke") {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: { PK: keys.person(change.person), SK: keys.grant(change.study) },
        UpdateExpression: `SET revokedAt = :at, revokedBy = :by, ${history}`,
        ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(revokedAt)",
        ExpressionAttributeValues: { ...values, ":at": change.at, ":by": change.by },
      }),
    );
    return;
  }
  await db.doc.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: { PK: keys.person(change.person), SK: keys.grant(change.study) },
      UpdateExpression: `SET #type = :type, study = :study, person = :person, #roles = :roles, deidentified = :deid, grantedAt = :at, grantedBy = :by, ${TABLE.indexes.bySite.partitionKey} = :index, ${TABLE.indexes.bySite.sortKey} = :person, ${history} REMOVE revokedAt, revokedBy`,
      ExpressionAttributeNames: { "#type": "type", "#roles": "roles" },
      ExpressionAttributeValues: {
        ...values,
        ":type": "grant",
        ":study": change.study,
        ":person": change.person,
        ":roles": change.roles,
        ":deid": change.deidentified,
        ":at": change.at,
        ":by": change.by,
        ":index": keys.grantIndex(change.study),
      },
    }),
  );
}

/** Grants the roles, replacing what the person held at the study (a revoked grant is granted anew). */
export async function setGrant(
  db: Db,
  macKey: MacKey,
  request: GrantRequest,
  by: string,
  options: { now?: Date; origin?: AccessOrigin } = {},
): Promise<Grant> {
  const now = options.now ?? new Date();
  const before = await findGrant(db, request.study, request.person);
  await recordGrantChange(
    db,
    macKey,
    {
      study: request.study,
      person: request.person,
      at: now.toISOString(),
      by,
      action: before && !before.revokedAt ? "change" : "grant",
      roles: request.roles,
      deidentified: request.deidentified === true,
    },
    options.origin,
  );
  return (await findGrant(db, request.study, request.person)) as Grant;
}

/** False when there is no grant to revoke (none, or revoked already). */
export async function revokeGrant(
  db: Db,
  macKey: MacKey,
  study: string,
  person: string,
  by: string,
  options: { now?: Date; origin?: AccessOrigin } = {},
): Promise<boolean> {
  const now = options.now ?? new Date();
  const before = await findGrant(db, study, person);
  if (!before || before.revokedAt) return false;
  try {
    // A lost race with another revocation fails the write's condition, before anything is logged.
    await recordGrantChange(
      db,
      macKey,
      {
        study,
        person,
        at: now.toISOString(),
        by,
        action: "revoke",
        roles: before.roles,
        deidentified: before.deidentified,
      },
      options.origin,
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** A person named by id or by email (any case), as an admin or the CLI names a key's owner. */
export async function findPersonByHandle(db: Db, handle: string): Promise<Person | undefined> {
  const byId = /^[0-9a-f]{24}$/.test(handle) ? await findPerson(db, handle) : undefined;
  if (byId) return byId;
  const email = handle.toLowerCase();
  return (await listPeople(db)).find((p) => p.email?.toLowerCase() === email);
}
