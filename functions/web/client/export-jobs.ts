/**
 * The exports page's job list, fetched again every few seconds while a job in
 * it is queued or running, and swapped in: progress without reloading the
 * page, since a timed reload throws away a half-filled form and is a WCAG
 * 2.2.1 failure. Without the script the list is as fresh as the page.
 */

const EVERY_MS = 3000;
const LIST = "#bulk-jobs";

const running = () => document.querySelector(`${LIST} [data-running]`) !== null;

async function refresh(): Promise<void> {
  const res = await fetch(location.pathname, { credentials: "same-origin" });
  if (!res.ok) return;
  const fresh = new DOMParser().parseFromString(await res.text(), "text/html").querySelector(LIST);
  if (fresh) document.querySelector(LIST)?.replaceWith(fresh);
}

function tick(): void {
  if (!running()) return;
  setTimeout(() => {
    refresh()
      .catch(() => {})
      .finally(tick);
  }, EVERY_MS);
}

tick();
