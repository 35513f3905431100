// The API over HTTP: login, JSON reads with the bearer token, and the live stream's URL.
import { CONFIG } from "./config.js";

const KEY = "stadswacht.session";

export class Unauthorized extends Error {}

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return s && s.expires > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function logout() {
  sessionStorage.removeItem(KEY);
}

export async function login(username, password) {
  const r = await fetch(`${CONFIG.apiBase}/v1/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password }),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Unauthorized(body.detail ?? `HTTP ${r.status}`);
  const s = { token: body.access_token, user: username, expires: Date.now() + body.expires_in * 1000 };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export async function get(path, params = {}) {
  const s = session();
  if (!s) throw new Unauthorized("not logged in");
  const url = new URL(`${CONFIG.apiBase}${path}`, location.href);
  for (const [k, v] of Object.entries(params)) if (v != null) url.searchParams.set(k, v);
  const headers = { Authorization: `Bearer ${s.token}` };
  if (CONFIG.purpose) headers["X-Purpose"] = CONFIG.purpose; // sharing agreements name it
  const r = await fetch(url, { headers });
  if (r.status === 401) {
    logout();
    throw new Unauthorized("session expired");
  }
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

// EventSource cannot send headers, so the stream takes the token as a query parameter.
export function streamUrl(path = "/v1/stream/readings") {
  const s = session();
  const url = new URL(`${CONFIG.apiBase}${path}`, location.href);
  url.searchParams.set("access_token", s ? s.token : "");
  if (CONFIG.purpose) url.searchParams.set("purpose", CONFIG.purpose);
  return url.href;
}
