import {
  checkHead,
  entryHash,
  genesisHash,
  signHead,
  verifyChain,
} from "../../../functions/engine/audit-chain.ts";
import { canonicalJson } from "../../../functions/engine/canonical-json.ts";
import {
  type ChainedRevision,
  instanceChainId,
  revisionChainEntry,
  revisionContent,
} from "../../../functions/engine/revision-chain.ts";
import type { Pair } from "../pairs.ts";

/**
 * What the audit chain adds to a save (one revision's canonical encoding and
 * hash, the head's HMAC) against the JSON.stringify the store's marshalling
 * already pays, and what verifying one long chain costs per revision against
 * stringifying the same revisions once. The revision is the first save of the
 * protocol's largest form (eligibility, 17 fields): every field in `data` and
 * in `changes`, the biggest revision the study writes.
 */
const data: Record<string, unknown> = {
  assessment_date: "2024-01-10",
  age_18_65: true,
  diagnosis_confirmed: true,
  mcdonald_2017: true,
  edss_screening: 4.5,
  disease_duration_years: 7,
  relapses_last_year: 2,
  prior_dmt: "natalizumab",
  washout_complete: true,
  pregnancy_test: "negative",
  contraception_agreed: true,
  jcv_status: "negative",
  hiv_hbv_hcv_negative: true,
  tb_screen: "negative",
  mri_within_28_days: true,
  consent_date: "2024-01-08",
  investigator_notes:
    "Eligible; patient prefers morning infusions. Reviewed prior MRI from referring centre.",
};
const revision = (rev: number): ChainedRevision => ({
  study: "hucmsc-ms-nmo",
  subject: "01-001",
  site: "site-01",
  event: "screening",
  form: "eligibility",
  instance: 1,
  rev,
  status: "complete",
  statusFrom: rev === 1 ? null : "complete",
  data: { ...data, edss_screening: 4 + (rev % 4) / 2 },
  changes: Object.entries(data).map(([field, value]) => ({ field, old: null, new: value })),
  definitionVersion: 3,
  committedAt: new Date(Date.UTC(2024, 0, 10) + rev * 60_000).toISOString(),
  committedBy: "coordinator-site-01",
  ...(rev > 1 ? { reason: "corrected after source data verification" } : {}),
});

/** Operations per timed run: single ones take microseconds, below the timer's grain. */
const BATCH = 2_000;
const LENGTH = 10_000;

const repeat = (work: () => void) => () => {
  for (let i = 0; i < BATCH; i++) work();
  return BATCH;
};

export default async function pairs(): Promise<Pair[]> {
  const chainId = instanceChainId(revision(1));
  const one = revisionContent(revision(2));
  const previous = genesisHash(chainId);
  const key = Buffer.alloc(32, 7);
  const floor = { name: "JSON.stringify of the revision", run: repeat(() => JSON.stringify(revision(2))) };

  const stored: (ChainedRevision & { previousHash: string; hash: string })[] = [];
  let previousHash = genesisHash(chainId);
  for (let rev = 1; rev <= LENGTH; rev++) {
    const r = revision(rev);
    const hash = entryHash(previousHash, revisionContent(r));
    stored.push({ ...r, previousHash, hash });
    previousHash = hash;
  }
  const last = stored.at(-1) as (typeof stored)[number];
  const mac = signHead(key, chainId, last.rev, last.hash);

  return [
    {
      name: "audit chain: canonical JSON of one revision",
      subject: { name: "canonicalJson(revisionContent)", run: repeat(() => canonicalJson(one)) },
      baseline: floor,
    },
    {
      name: "audit chain: what a save adds (content + hash)",
      subject: {
        name: "entryHash(previous, revisionContent(revision))",
        run: repeat(() => entryHash(previous, revisionContent(revision(2)))),
      },
      baseline: floor,
    },
    {
      name: "audit chain: signHead (one HMAC)",
      subject: { name: "signHead", run: repeat(() => signHead(key, chainId, 2, previous)) },
      baseline: floor,
    },
    {
      name: `audit chain: verify ${LENGTH.toLocaleString("en-GB")} revisions, per revision`,
      rounds: 5,
      subject: {
        name: "revisionChainEntry each + verifyChain, signed head",
        run: () => {
          const entries = stored.map(revisionChainEntry);
          const authentic = checkHead(key, chainId, last.rev, last.hash, mac);
          const findings = verifyChain(entries, {
            chainId,
            head: { rev: last.rev, hash: last.hash, authentic },
          });
          if (findings.length > 0) throw new Error("an untouched chain must verify clean");
          return LENGTH;
        },
      },
      baseline: {
        name: "JSON.stringify of each stored revision",
        run: () => {
          for (const r of stored) JSON.stringify(r);
          return LENGTH;
        },
      },
    },
  ];
}
