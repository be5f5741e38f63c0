/** Fetching from the viewer's API (src/viewer/server.ts); errors carry the server's message. */

/** GET `path` as JSON of type `T` (the shapes are in src/viewer/api-types.ts). */
export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(await errorText(response));
  return (await response.json()) as T;
}

/** GET `path` as text (the curves SVG). */
export async function getText(path: string): Promise<string> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(await errorText(response));
  return response.text();
}

/** POST `body` as JSON, answer as JSON of type `T`. */
export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await errorText(response));
  return (await response.json()) as T;
}

async function errorText(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: string };
    return body.error ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

/** The element with `id`; a page without it is a bug in index.html, so fail loudly. */
export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** Replaces a select's options, keeping `keep` selected when it is still there. */
export function setOptions(
  select: HTMLSelectElement,
  options: readonly { value: string; label: string }[],
  keep?: string,
): void {
  select.replaceChildren(
    ...options.map((o) => {
      const option = document.createElement('option');
      option.value = o.value;
      option.textContent = o.label;
      return option;
    }),
  );
  if (keep !== undefined && options.some((o) => o.value === keep)) select.value = keep;
}
