// Every string the dashboard shows, per language. Add a language by adding a key to STRINGS.
export const STRINGS = {
  en: {
    title: "Stadswacht",
    subtitle: "operator dashboard",
    loginTitle: "Log in",
    username: "User name",
    password: "Password",
    loginButton: "Log in",
    loginFailed: "Login failed: {detail}",
    sessionExpired: "Your session has ended; log in again.",
    logout: "Log out",
    sensors: "sensors",
    live: "live",
    stale: "stale",
    never: "no data yet",
    off: "decommissioned",
    readingsPerS: "readings/s",
    readingsTotal: "readings",
    feedTitle: "Live readings",
    moreReadings: "… and {n} more readings",
    search: "Find a sensor by id",
    noMatch: "No sensor matches",
    details: "Sensor",
    close: "Close",
    kind: "Kind",
    agency: "Agency",
    area: "Area",
    status: "Status",
    position: "Position",
    lastSeen: "Last seen",
    lastValue: "Last value",
    recent: "Recent readings",
    agoS: "{n} s ago",
    agoM: "{n} min ago",
    agoH: "{n} h ago",
    streamLive: "live",
    streamDown: "reconnecting…",
    streamConnecting: "connecting…",
    noMapLib: "The map library is not installed: run make to install the map library.",
    noWebGL: "The map cannot be drawn in this browser (WebGL is off): {detail}",
    loadFailed: "Could not load {what}: {detail}",
    detectionsTitle: "Detections",
    noDetections: "No detections in the last 24 hours",
    kind_gunshot: "Gunshot",
    kind_fireworks: "Fireworks",
    kind_impulsive_other: "Other impulse",
    roundsN: "{n}×",
    detKind: "Detected",
    detTime: "At",
    detRaised: "Raised",
    detRounds: "Rounds",
    detProbability: "Probability",
    detPosition: "Position",
    detUncertainty: "Uncertainty (95 %)",
    ellipse: "{a} × {b} m",
    detSensors: "Heard by",
    detEvidence: "Evidence",
    evidenceN: "{n} impulse reports",
    detWarning: "Warning",
    poorGeometry: "poor sensor geometry: the position is uncertain",
  },
  nl: {
    subtitle: "dashboard van de meldkamer",
    loginTitle: "Inloggen",
    username: "Gebruikersnaam",
    password: "Wachtwoord",
    loginButton: "Inloggen",
    loginFailed: "Inloggen mislukt: {detail}",
    sessionExpired: "Je sessie is verlopen; log opnieuw in.",
    logout: "Uitloggen",
    sensors: "sensoren",
    live: "actief",
    stale: "stil",
    never: "nog geen data",
    off: "buiten gebruik",
    readingsPerS: "metingen/s",
    readingsTotal: "metingen",
    feedTitle: "Live metingen",
    moreReadings: "… en nog {n} metingen",
    search: "Zoek een sensor op id",
    noMatch: "Geen sensor gevonden",
    details: "Sensor",
    close: "Sluiten",
    kind: "Soort",
    agency: "Organisatie",
    area: "Gebied",
    status: "Status",
    position: "Positie",
    lastSeen: "Laatst gezien",
    lastValue: "Laatste waarde",
    recent: "Recente metingen",
    agoS: "{n} s geleden",
    agoM: "{n} min geleden",
    agoH: "{n} u geleden",
    streamLive: "live",
    streamDown: "opnieuw verbinden…",
    streamConnecting: "verbinden…",
    noMapLib: "De kaartbibliotheek ontbreekt: voer make uit om de kaartbibliotheek te installeren.",
    noWebGL: "De kaart kan in deze browser niet getekend worden (WebGL staat uit): {detail}",
    loadFailed: "Kon {what} niet laden: {detail}",
    detectionsTitle: "Detecties",
    noDetections: "Geen detecties in de laatste 24 uur",
    kind_gunshot: "Schot",
    kind_fireworks: "Vuurwerk",
    kind_impulsive_other: "Andere knal",
    roundsN: "{n}×",
    detKind: "Gedetecteerd",
    detTime: "Om",
    detRaised: "Gemeld",
    detRounds: "Schoten",
    detProbability: "Kans",
    detPosition: "Positie",
    detUncertainty: "Onzekerheid (95 %)",
    ellipse: "{a} × {b} m",
    detSensors: "Gehoord door",
    detEvidence: "Bewijs",
    evidenceN: "{n} impulsmeldingen",
    detWarning: "Let op",
    poorGeometry: "ongunstige ligging van de sensoren: de positie is onzeker",
  },
};

let current = "en";

export function setLang(lang) {
  current = lang in STRINGS ? lang : "en";
  document.documentElement.lang = current;
}

export function lang() {
  return current;
}

export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

// Fill every element marked data-i18n (text) or data-i18n-placeholder.
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}
