import { randomBytes } from "node:crypto";
import {
  foldQueries,
  type Query,
  type QueryRefusal,
  type QueryTransition,
  refusal,
} from "../engine/queries.ts";
import type { Assignee, CoveredRevision, ReviewTarget } from "../engine/review.ts";
import type { Db } from "./dynamo.ts";
import type { MacKey } from "./mac-key.ts";
import { appendReview, ChainMovedError, readReviewLog, readSiteQueryEntries } from "./review-log.ts";
import type { Subject } from "./subjects.ts";

/** Who acts, as review entries record it. */
export interface QueryActor {
  by: string;
  person?: string;
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** `q_` and 10 base32 characters (50 random bits): short enough to read aloud, unique within a study in practice. */
export function newQueryId(): string {
  return `q_${[...randomBytes(10)].map((b) => BASE32[b % 32]).join("")}`;
}

/** A subject's queries, and the seq of its review log's head they were folded from. */
export async function readSubjectQueries(
  db: Db,
  study: string,
  subject: string,
): Promise<{ queries: Query[]; head: number }> {
  const log = await readReviewLog(db, study, subject);
  return { queries: foldQueries(log), head: log.at(-1)?.seq ?? 0 };
}

/** Every query of the given sites (the caller's), folded per site. */
export async function readSiteQueries(db: Db, study: string, sites: string[]): Promise<Query[]> {
  const perSite = await Promise.all(
    sites.map(async (site) => foldQueries(await readSiteQueryEntries(db, study, site))),
  );
  return perSite.flat();
}

export interface OpenQueryRequest extends QueryActor {
  subject: Subject;
  /** Checked against the definition by the caller. */
  target: ReviewTarget;
  text: string;
  assignee?: Assignee;
  rule?: string;
}

/** Opens a query: one query-open entry on the subject's review log. */
export async function openQuery(db: Db, macKey: MacKey, request: OpenQueryRequest): Promise<Query> {
  const { subject } = request;
  const id = newQueryId();
  const entry = await appendReview(db, macKey, {
    action: "query-open",
    query: id,
    text: request.text,
    assignee: request.assignee,
    rule: request.rule,
    study: subject.study,
    subject: subject.id,
    site: subject.site,
    by: request.by,
    person: request.person,
    target: request.target,
  });
  const [query] = foldQueries([entry]);
  if (!query) throw new Error(`query ${id} did not fold from its own opening`);
  return query;
}

export interface TransitionRequest extends QueryActor {
  subject: Subject;
  query: string;
  transition: QueryTransition;
  text?: string;
  /** For an answer that corrected the data: the revision it saved. */
  correction?: CoveredRevision;
}

export type TransitionResult =
  | { kind: "done"; query: Query }
  | { kind: "not-found" }
  | { kind: "refused"; refusal: QueryRefusal; query: Query };

/** A subject's review log is written by a few people at a time: this many lost races is a fault, not a queue. */
const MAX_ATTEMPTS = 20;

const ACTION = { answer: "query-answer", close: "query-close", reopen: "query-reopen" } as const;

/**
 * Answers, closes or reopens a query. The transition is checked against the
 * state folded from the log as it is just before the append, and the append
 * is conditional on the log's head being the one that state was folded from:
 * if any entry got in between (a second close racing this one), the log is
 * read and the transition checked again. So every transition in the log was
 * allowed by the state right before it; of two racing closes, one is
 * refused.
 */
export async function transitionQuery(
  db: Db,
  macKey: MacKey,
  request: TransitionRequest,
): Promise<TransitionResult> {
  const { subject } = request;
  for (let attempt = 1; ; attempt++) {
    const log = await readReviewLog(db, subject.study, subject.id);
    const current = foldQueries(log).find((q) => q.id === request.query);
    if (!current) return { kind: "not-found" };
    const refused = refusal(current.state, request.transition);
    if (refused) return { kind: "refused", refusal: refused, query: current };
    try {
      const entry = await appendReview(
        db,
        macKey,
        {
          action: ACTION[request.transition],
          query: current.id,
          text: request.text as string,
          ...(request.transition === "answer" && request.correction
            ? { correction: request.correction }
            : {}),
          study: subject.study,
          subject: subject.id,
          site: subject.site,
          by: request.by,
          person: request.person,
          target: current.target,
        },
        { after: log.at(-1)?.seq ?? 0 },
      );
      const query = foldQueries([...log, entry]).find((q) => q.id === current.id);
      return { kind: "done", query: query as Query };
    } catch (error) {
      if (!(error instanceof ChainMovedError)) throw error;
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(`the review log of ${subject.id} moved under ${attempt} attempts in a row`);
    }
  }
}
