// Deployment settings of the dashboard. Edit this file (or serve another one in its place)
// to change them; nothing here is secret.
export const CONFIG = {
  // Where the API is, relative to this page ("" = same origin).
  apiBase: "",
  // A sensor is "stale" when nothing came from it for this long [s].
  staleAfterS: 30,
  // A MapLibre style URL for a basemap, e.g. a vector tile style of the deployment. Null: no
  // tile server, the basemap is the areas' own polygons on a plain background.
  styleUrl: null,
  // How often the live feed and the map are redrawn at most [ms]; readings are never dropped.
  renderEveryMs: 250,
  // Rows kept in the live feed.
  feedRows: 200,
  // Default language ("en" or "nl"); null: follow the browser.
  lang: null,
  // The purpose this control room states (X-Purpose) to see other agencies' data under their
  // sharing agreements, e.g. "public-order"; null: only the user's own agency's data.
  purpose: null,
};
