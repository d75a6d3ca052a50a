import type { Site, StudyFile } from "./definition.ts";

/**
 * Whether a subject can be enrolled as asked: one rule for the API and the web
 * form. An explicit id must carry the enrolling site's code (`<code>-…`, the
 * shape generated ids have) as well as match the study's pattern, so a site
 * cannot squat another site's ids, and asking for another site's id is refused
 * before anything is looked up: the answer is the same whether that site holds
 * the id or not.
 */
export interface EnrolmentRequest {
  site: string;
  arm: string;
  subjectId?: string;
}

export interface EnrolmentProblem {
  pointer: "/site" | "/arm" | "/subjectId";
  /** `not-your-site` is the caller's scope, not the request's shape (the API answers it 403). */
  code: "unknown-site" | "not-your-site" | "unknown-arm" | "pattern" | "site-code";
  message: string;
}

export async function checkEnrolment(
  study: StudyFile,
  request: EnrolmentRequest,
  callerSites: readonly string[],
): Promise<{ site?: Site; errors: EnrolmentProblem[] }> {
  const errors: EnrolmentProblem[] = [];
  const site = study.sites.find((s) => s.id === request.site);
  if (!site)
    errors.push({
      pointer: "/site",
      code: "unknown-site",
      message: `${request.site} is not a site of the study`,
    });
  else if (!callerSites.includes(site.id))
    errors.push({ pointer: "/site", code: "not-your-site", message: `you cannot enrol at ${site.id}` });
  if (!study.arms.some((a) => a.id === request.arm))
    errors.push({
      pointer: "/arm",
      code: "unknown-arm",
      message: `${request.arm} is not an arm of the study`,
    });
  const id = request.subjectId;
  if (id !== undefined) {
    // RE2 is loaded when an id is asked for, not at init: most enrolments take a generated id.
    const { matchesPattern } = await import("./pattern.ts");
    if (!matchesPattern(study.subjectIdPattern, id))
      errors.push({
        pointer: "/subjectId",
        code: "pattern",
        message: `must match ${study.subjectIdPattern}`,
      });
    else if (site && !id.startsWith(`${site.code}-`))
      errors.push({
        pointer: "/subjectId",
        code: "site-code",
        message: `must start with ${site.code}-, the code of ${site.id}`,
      });
  }
  return errors.length > 0 ? { errors } : { site, errors };
}
