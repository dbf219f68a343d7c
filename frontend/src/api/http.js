// The page's one call of fetch(): every request of the dashboard goes through here, so that a refusal for load
// is retried in one place. A 429 or 503 means the server did not do the work (the nginx limit, or an instance
// shedding load with Retry-After: issue 23), so the same request is sent again after the time the server asks
// for, or after a growing, jittered wait when it names none.

const RETRIES = 4;
const MAX_WAIT = 10_000;

/** How long to wait before retry number `attempt` (0-based): Retry-After's seconds, else 0.5 s, 1 s, 2 s, … ±25 %. */
export function retryDelay(retryAfter, attempt, random = Math.random) {
  const seconds = Number(retryAfter);
  if (retryAfter && Number.isFinite(seconds) && seconds >= 0) return Math.min(MAX_WAIT, seconds * 1000);
  return Math.min(MAX_WAIT, 500 * 2 ** attempt) * (0.75 + 0.5 * random());
}

const pause = (ms, signal) => new Promise((resolve, reject) => {
  const id = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => {
    clearTimeout(id);
    reject(new DOMException('The request was cancelled', 'AbortError'));
  }, { once: true });
});

/** fetch(url, init), sending it again (up to four times) while the server answers 429 or 503. */
export async function send(url, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, init);
    if ((res.status !== 429 && res.status !== 503) || attempt >= RETRIES) return res;
    await pause(retryDelay(res.headers.get('Retry-After'), attempt), init.signal);
  }
}
