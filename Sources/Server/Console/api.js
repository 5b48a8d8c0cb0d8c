// The console's one way to the HTTP API: fetch with the bearer token from sessionStorage (never in a
// URL or a cookie), problem+json errors turned into readable messages.
const tokenKey = "autovision-token";

export function token() { return sessionStorage.getItem(tokenKey); }
export function setToken(value) { value ? sessionStorage.setItem(tokenKey, value) : sessionStorage.removeItem(tokenKey); }

/** An API error: the HTTP status and the problem's detail (or the body's text). */
export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function authorized(headers = {}) {
  const t = token();
  return t ? { ...headers, Authorization: `Bearer ${t}` } : headers;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.text();
    try {
      const problem = JSON.parse(body);
      message = problem.detail || problem.title || problem.error?.message || problem.error || message;
      if (problem.title && problem.detail) message = `${problem.title}: ${problem.detail}`;
    } catch { if (body) message = body.slice(0, 300); }
  } catch { /* keep the status line */ }
  return new APIError(response.status, message);
}

/** Calls the API: JSON answers parsed, a Blob for `as: "blob"`; throws APIError for any non-2xx answer. */
export async function api(path, { method = "GET", body, type, as = "json" } = {}) {
  const headers = authorized(type ? { "Content-Type": type } : {});
  let response;
  try {
    response = await fetch(path, { method, body, headers, cache: "no-store" });
  } catch (error) {
    throw new APIError(0, `the server cannot be reached (${error.message})`);
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return as === "blob" ? response.blob() : response.json();
}

/** POSTs `file` with upload progress (fetch has none): onProgress(fraction); resolves with the JSON answer. */
export function upload(path, file, type, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("Content-Type", type);
    const t = token();
    if (t) request.setRequestHeader("Authorization", `Bearer ${t}`);
    request.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
    request.onerror = () => reject(new APIError(0, "the upload failed: the server cannot be reached"));
    request.onload = () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status >= 200 && request.status < 300) return resolve(body);
      const detail = body && (body.title && body.detail ? `${body.title}: ${body.detail}` : body.detail) || request.statusText;
      reject(new APIError(request.status, detail || `HTTP ${request.status}`));
    };
    request.send(file);
  });
}
