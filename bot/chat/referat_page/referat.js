// The Referat's view: lists, uploads, edits, releases and withdraws corpus documents through
// /referat/api/. Every value from the server is shown as text (textContent), never as HTML:
// an uploaded page's scripts or markup can never run here.
"use strict";

const API = "/referat/api";
const state = { status: null, documents: [], current: null, poll: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function germanDate(iso) {
  if (!iso) return "–";
  const [y, m, d] = String(iso).slice(0, 10).split("-");
  return d && m && y ? `${d}.${m}.${y}` : String(iso);
}

function germanTime(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? String(iso) : when.toLocaleString("de-DE");
}

function say(text, kind) {
  const box = document.getElementById("meldung");
  box.textContent = text;
  box.className = kind === "fehler" ? "fehler" : "ok";
  box.hidden = !text;
}

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(API + path, options);
  } catch (error) {
    throw new Error("Der Server ist nicht erreichbar; bitte später erneut versuchen.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) {
    const sentence = data && typeof data.detail === "string" ? data.detail : `Fehler ${response.status}.`;
    const failure = new Error(sentence);
    failure.status = response.status;
    throw failure;
  }
  return data;
}

// ---- Documents -------------------------------------------------------------------------------

const STATUS_LABEL = { freigegeben: "freigegeben", entwurf: "Entwurf", archiviert: "zurückgezogen", fehlerhaft: "fehlerhaft" };

function badge(status) {
  return el("span", { class: `marke ${status}` }, STATUS_LABEL[status] || status);
}

function selfcheckText(check) {
  if (!check) return "–";
  if (!check.questions) return "keine Beispielfragen";
  const share = `${check.first}/${check.questions} zuerst gefunden`;
  return check.aktuell === false ? `${share} (veraltet)` : share;
}

function renderList() {
  const body = document.querySelector("#liste tbody");
  body.replaceChildren();
  for (const doc of state.documents) {
    const valid = doc.gueltig_ab ? `ab ${germanDate(doc.gueltig_ab)}${doc.gueltig_bis ? ` bis ${germanDate(doc.gueltig_bis)}` : ""}` : "–";
    const changed = doc.geaendert ? `${germanTime(doc.geaendert.time)} · ${doc.geaendert.who}` : "–";
    const row = el(
      "tr",
      { "data-id": doc.id, tabindex: 0, class: state.current && state.current.id === doc.id ? "gewaehlt" : null,
        onclick: () => openDocument(doc.id), onkeydown: (e) => { if (e.key === "Enter") openDocument(doc.id); } },
      el("td", {}, el("strong", {}, doc.titel), el("br"), el("code", {}, doc.id)),
      el("td", {}, badge(doc.status)),
      el("td", {}, germanDate(doc.stand)),
      el("td", {}, valid),
      el("td", {}, doc.version ?? "–"),
      el("td", {}, doc.abschnitte ?? "–"),
      el("td", {}, doc.fragen ?? "–", doc.vorschlag ? el("span", { class: "marke entwurf", title: "Ein Vorschlag für Beispielfragen wartet auf Prüfung." }, " Vorschlag") : null),
      el("td", {}, selfcheckText(doc.selbsttest)),
      el("td", { class: "index" }, doc.index || "–"),
      el("td", {}, changed),
    );
    body.append(row);
  }
  const choice = document.getElementById("ersetzt-auswahl");
  const chosen = choice.value;
  choice.replaceChildren(el("option", { value: "" }, "– keinem Dokument –"));
  for (const doc of state.documents.filter((d) => d.status === "freigegeben")) {
    choice.append(el("option", { value: doc.id, selected: doc.id === chosen }, `${doc.titel} (${doc.id})`));
  }
}

async function loadList() {
  state.documents = await api("GET", "/documents");
  renderList();
  const waiting = state.documents.some((d) => d.index === "wird aktualisiert" || d.index === "wird entfernt");
  schedulePoll(waiting);
}

function schedulePoll(waiting) {
  clearTimeout(state.poll);
  if (waiting) state.poll = setTimeout(() => refresh().catch(() => {}), 3000);
}

async function loadStatus() {
  state.status = await api("GET", "/status");
  const s = state.status;
  document.getElementById("angemeldet").textContent = `Angemeldet als ${s.angemeldet}`;
  document.getElementById("hinweis-ki").textContent = s.hinweis;
  document.getElementById("grenzen").textContent = `Höchstens ${s.hochladen_max_mb} MB je Datei.`;
  document.getElementById("vier-augen").textContent = s.vier_augen
    ? "Vier-Augen-Prinzip an: Freigeben darf nur, wer die vorliegende Fassung nicht selbst geschrieben hat."
    : "Vier-Augen-Prinzip aus (nur ein Konto des Referats bekannt oder abgeschaltet).";
  const idx = s.index || {};
  const last = idx.letzter ? ` Letzte Aktualisierung: ${idx.letzter.message}` : "";
  document.getElementById("index-stand").replaceChildren(
    `Index gebaut: ${germanTime(idx.gebaut)}${idx.laeuft ? " · wird gerade aktualisiert" : ""}.${last} `,
    idx.laeuft ? "" : el("button", { type: "button", class: "klein-knopf",
      onclick: () => act("Index wird aktualisiert", "POST", "/index", undefined, () => "Der Index wird im Hintergrund aktualisiert.") },
    "Index aktualisieren"));
}

async function refresh() {
  await Promise.all([loadStatus(), loadList()]);
  if (state.current) await openDocument(state.current.id, true);
}

async function upload(event) {
  event.preventDefault();
  const input = document.getElementById("datei");
  if (!input.files.length) return say("Bitte zuerst eine Datei wählen.", "fehler");
  const form = new FormData();
  form.append("file", input.files[0]);
  const replaces = document.getElementById("ersetzt-auswahl").value;
  if (replaces) form.append("ersetzt", replaces);
  const button = document.getElementById("hochladen-knopf");
  button.disabled = true;
  say("Die Datei wird umgewandelt …");
  try {
    const doc = await api("POST", "/documents", form);
    input.value = "";
    say(`Entwurf „${doc.kopfdaten ? doc.kopfdaten.titel : doc.id}“ angelegt. Bitte prüfen und von einer zweiten Person freigeben lassen.`);
    await loadList();
    showDocument(doc);
  } catch (error) {
    say(error.message, "fehler");
  } finally {
    button.disabled = false;
  }
}

async function openDocument(id, quiet) {
  try {
    showDocument(await api("GET", `/documents/${encodeURIComponent(id)}`));
  } catch (error) {
    if (!quiet) say(error.message, "fehler");
  }
}

async function act(label, method, path, body, after) {
  say(`${label} …`);
  try {
    const result = await api(method, path, body);
    await refresh();
    say(after(result));
    return result;
  } catch (error) {
    say(error.message, "fehler");
    return null;
  }
}

// ---- One document ----------------------------------------------------------------------------

const FIELDS = [
  ["titel", "Titel", "text"], ["quelle", "Quelle", "text"], ["verantwortlich", "Verantwortlich", "text"],
  ["stand", "Stand", "date"], ["gueltig_ab", "gültig ab", "date"], ["gueltig_bis", "gültig bis", "date"],
  ["ersetzt", "ersetzt (Dokument-ID)", "text"], ["url", "Adresse des Originals", "url"],
];

function findingBox(finding) {
  return el("p", { class: `befund ${finding.art}` }, `${finding.art === "fehler" ? "Fehler" : "Hinweis"} (Zeile ${finding.zeile}): ${finding.text}`);
}

function actions(doc) {
  const me = state.status ? state.status.angemeldet : null;
  const own = state.status && state.status.vier_augen && doc.verfasst_von === me;
  const path = `/documents/${encodeURIComponent(doc.id)}`;
  const bar = el("div", { class: "aktionen" });
  if (doc.status !== "freigegeben") {
    bar.append(el("button", {
      type: "button", class: "haupt", disabled: own, title: own ? "Diese Fassung haben Sie selbst geschrieben." : null,
      onclick: () => act("Wird freigegeben", "POST", `${path}/freigeben`, { sha256: doc.sha256 },
        (r) => `Freigegeben (Fassung ${r.version ?? "–"}). Der Index wird aktualisiert; in spätestens einer Minute antwortet der Assistent daraus.`),
    }, "Freigeben"));
    if (own) bar.append(el("span", { class: "klein" }, "Vier Augen: Freigeben muss ein anderes Mitglied des Referats."));
  }
  if (doc.status !== "archiviert") {
    bar.append(el("button", {
      type: "button",
      onclick: () => act("Wird zurückgezogen", "POST", `${path}/zurueckziehen`, undefined,
        () => "Zurückgezogen. Der Assistent antwortet nicht mehr daraus, sobald der Index aktualisiert ist."),
    }, "Zurückziehen"));
  }
  bar.append(el("button", {
    type: "button",
    onclick: () => act("Selbsttest läuft", "POST", `${path}/selbsttest`, undefined,
      (r) => (r.questions ? `Selbsttest: ${r.first} von ${r.questions} Beispielfragen finden ihren Abschnitt zuerst.` : "Selbsttest: Das Dokument hat keine Beispielfragen.")),
  }, "Selbsttest"));
  if (state.status && state.status.sprachmodell) {
    bar.append(el("button", {
      type: "button",
      onclick: () => act("Das Sprachmodell entwirft Fragen", "POST", `${path}/fragen-entwerfen`, undefined,
        () => "Vorschlag erstellt; bitte unten prüfen."),
    }, "Beispielfragen entwerfen"));
  }
  if (doc.status === "freigegeben") {
    bar.append(el("button", {
      type: "button",
      onclick: () => {
        document.getElementById("ersetzt-auswahl").value = doc.id;
        document.getElementById("datei").focus();
        say("Bitte die neue Fassung oben auswählen und hochladen.");
      },
    }, "Neue Fassung hochladen"));
  }
  return bar;
}

function metadataForm(doc) {
  const locked = doc.status === "freigegeben";
  const meta = doc.kopfdaten || {};
  const form = el("form", { class: "kopfdaten", id: "bearbeiten" });
  const grid = el("div", { class: "felder" });
  for (const [name, label, type] of FIELDS) {
    let value = meta[name] ?? "";
    if (Array.isArray(value)) value = value.join(", ");
    grid.append(el("label", {}, label, el("input", { name, type, value, disabled: locked })));
  }
  form.append(el("h3", {}, "Kopfdaten"), grid);
  const heads = el("div", { class: "ueberschriften" });
  for (const h of doc.ueberschriften || []) {
    const level = el("select", { "data-line": h.line, disabled: locked, "aria-label": "Ebene" },
      [1, 2, 3, 4, 5, 6].map((n) => el("option", { value: n, selected: n === h.level }, "#".repeat(n))));
    heads.append(el("div", { class: "zeile" }, level,
      el("input", { type: "text", value: h.text, "data-line": h.line, disabled: locked, "aria-label": "Überschrift" })));
  }
  form.append(el("h3", {}, "Überschriften"), heads);
  const body = (doc.text || "").replace(/^---[\s\S]*?\n---\r?\n/, "");
  form.append(el("details", {},
    el("summary", {}, "Wortlaut korrigieren (nur Importfehler)"),
    el("p", { class: "klein warnung" }, "Der Text wird wörtlich zitiert. Bitte nur offensichtliche Fehler der Umwandlung korrigieren (Silbentrennung, Zeilenumbrüche); jede Änderung wird mit Vorher/Nachher protokolliert."),
    el("textarea", { name: "wortlaut", rows: 14, disabled: locked }, body)));
  if (locked) {
    form.append(el("p", { class: "klein" }, "Eine freigegebene Fassung wird nicht bearbeitet: erst zurückziehen oder eine neue Fassung hochladen."));
  } else {
    form.append(el("button", { type: "submit", class: "haupt" }, "Speichern"));
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); save(doc, form, body); });
  return form;
}

function save(doc, form, oldBody) {
  const felder = {};
  for (const [name] of FIELDS) felder[name] = form.elements[name].value;
  const ueberschriften = (doc.ueberschriften || []).map((h) => ({
    line: h.line,
    level: Number(form.querySelector(`select[data-line="${h.line}"]`).value),
    text: form.querySelector(`input[data-line="${h.line}"]`).value,
  }));
  const text = form.elements.wortlaut.value;
  const wortlaut = text.trim() === oldBody.trim() ? null : text;
  act("Wird gespeichert", "PUT", `/documents/${encodeURIComponent(doc.id)}`, { sha256: doc.sha256, felder, ueberschriften, wortlaut },
    () => "Gespeichert; die Änderung steht im Verlauf.");
}

function preview(doc) {
  const box = el("div", { class: "vorschau" }, el("h3", {}, "So wird zitiert"));
  const shown = doc.vorschau || { kopfdaten: [], abschnitte: [] };
  for (const f of shown.kopfdaten) box.append(findingBox(f));
  for (const p of shown.abschnitte) {
    box.append(el("div", { class: "abschnitt", "data-passage": p.id },
      el("div", { class: "pfad" }, p.ueberschriften.length ? p.ueberschriften.join(" › ") : "Einleitung"),
      el("p", { class: "wortlaut" }, p.text),
      p.befunde.map(findingBox)));
  }
  return box;
}

function diffView(doc) {
  const parts = (doc.ersetzt_vergleich || []).map((cmp) => {
    if (cmp.fehlt) return el("p", { class: "befund hinweis" }, `„${cmp.id}“ gibt es im Korpus nicht.`);
    const text = el("p", { class: "wortlaut diff" }, cmp.diff.map(([op, piece]) =>
      op === "=" ? piece : el(op === "+" ? "ins" : "del", {}, piece)));
    return el("div", {}, el("h3", {}, `Unterschied zu „${cmp.titel}“ (${cmp.id}), das dieses Dokument ersetzt`),
      el("p", { class: "klein" }, "Neu: unterstrichen · entfallen: durchgestrichen"), text);
  });
  return parts.length ? el("div", { class: "vergleich" }, parts) : null;
}

function proposalView(doc) {
  return (doc.vorschlaege || []).map((p) => {
    if (p.fehler) return el("p", { class: "befund fehler" }, p.fehler);
    const path = `/documents/${encodeURIComponent(doc.id)}/vorschlag/${p.kind}`;
    const groups = {};
    for (const q of p.questions) (groups[q.section] = groups[q.section] || []).push(q);
    const origin = p.kind === "auswahl" ? "aus Auswahlen der Mitarbeitenden" : "vom Sprachmodell entworfen";
    return el("div", { class: "vorschlag", "data-kind": p.kind },
      el("h3", {}, `Vorschlag für Beispielfragen (${origin})`),
      el("p", { class: "klein hinweis-ki" }, p.disclosure),
      el("p", { class: "klein" }, `${p.would_accept} von ${p.questions.length} Fragen würden übernommen; markierte nur mit „behalten: true“ in der Datei ${p.file}.`),
      Object.entries(groups).map(([section, qs]) => el("div", {}, el("strong", {}, section),
        el("ul", {}, qs.map((q) => el("li", { class: q.flagged ? "markiert" : null }, q.question, q.flagged ? el("span", { class: "klein" }, ` – markiert: ${q.reason || ""}`) : null))))),
      el("div", { class: "aktionen" },
        el("button", { type: "button", class: "haupt", onclick: () => act("Wird übernommen", "POST", `${path}/annehmen`, undefined,
          (r) => `${Object.values(r.uebernommen).flat().length} Beispielfragen übernommen.`) }, "Übernehmen"),
        el("button", { type: "button", onclick: () => act("Wird verworfen", "POST", `${path}/verwerfen`, undefined, () => "Vorschlag verworfen.") }, "Verwerfen")));
  });
}

function selfcheckView(doc) {
  const c = doc.selbsttest;
  if (!c) return null;
  const rows = (c.sections || []).map((s) => el("li", {}, `${s.section}: ${s.first}/${s.questions} zuerst gefunden, ${s.answered} beantwortet`));
  return el("div", {}, el("h3", {}, "Selbsttest"),
    el("p", {}, `${c.first} von ${c.questions} Beispielfragen finden ihren Abschnitt zuerst (${germanTime(c.time)}${c.als_entwurf ? ", als Entwurf geprüft" : ""}).`),
    el("ul", {}, rows));
}

function historyItem(change, doc) {
  const item = el("li", {}, change.version ? el("span", { class: "marke" }, `Fassung ${change.version}`) : null, " ",
    el("span", { class: "zeit" }, germanTime(change.time)), " ", el("strong", {}, change.who), ": ",
    change.action, change.summary ? ` – ${change.summary}` : "");
  if (doc && change.version) {
    const path = `/documents/${encodeURIComponent(doc.id)}`;
    item.append(" ", el("button", { type: "button", class: "klein-knopf", onclick: async () => {
      try {
        const v = await api("GET", `${path}/versionen/${change.version}`);
        const shown = document.getElementById("fassung");
        shown.replaceChildren(el("h4", {}, `Fassung ${v.version}`), el("pre", {}, v.text));
        shown.hidden = false;
      } catch (error) { say(error.message, "fehler"); }
    } }, "ansehen"));
    if (doc.status !== "freigegeben" && change.sha256 !== doc.sha256) {
      item.append(" ", el("button", { type: "button", class: "klein-knopf", onclick: () => act("Wird wiederhergestellt", "POST", `${path}/wiederherstellen`,
        { version: change.version }, () => `Fassung ${change.version} als Entwurf wiederhergestellt.`) }, "wiederherstellen"));
    }
  }
  return item;
}

function showDocument(doc) {
  state.current = doc;
  const box = document.getElementById("detail");
  const meta = doc.kopfdaten || {};
  box.replaceChildren(...[
    el("h2", {}, meta.titel || doc.id, " ", badge(doc.status)),
    el("p", { class: "klein" }, `ID ${doc.id} · Fassung ${doc.version ?? "– (außerhalb der Ansicht geändert)"} · verfasst von ${doc.verfasst_von || "unbekannt"} · Index: ${doc.index || "–"}`),
    doc.status === "fehlerhaft" ? el("p", { class: "befund fehler" }, "Das Dokument lässt sich nicht lesen; bitte eine frühere Fassung wiederherstellen.") : null,
    actions(doc),
    doc.status === "fehlerhaft" ? null : metadataForm(doc),
    diffView(doc),
    preview(doc),
    ...proposalView(doc),
    selfcheckView(doc),
    el("h3", {}, "Verlauf"),
    el("ul", { class: "verlauf" }, (doc.historie || []).map((c) => historyItem(c, doc))),
    el("div", { id: "fassung", class: "fassung" }),
  ].filter(Boolean));
  document.getElementById("fassung").hidden = true;
  box.hidden = false;
  for (const row of document.querySelectorAll("#liste tbody tr")) row.classList.toggle("gewaehlt", row.dataset.id === doc.id);
}

// ---- Use at a glance and all changes ----------------------------------------------------------

const SERIES = [["beantwortet", "beantwortet"], ["nachgefragt", "nachgefragt"], ["abgelehnt", "abgelehnt"]];

function chart(weeks) {
  const width = 680, height = 240, left = 40, bottom = 40, top = 16;
  const max = Math.max(1, ...weeks.map((w) => w.fragen));
  const step = (width - left - 10) / weeks.length;
  const scale = (height - bottom - top) / max;
  const graph = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "diagramm-titel", class: "diagramm" },
    svg("title", { id: "diagramm-titel" }, "Fragen je Woche: beantwortet, nachgefragt, abgelehnt"));
  graph.append(svg("line", { x1: left, y1: height - bottom, x2: width - 5, y2: height - bottom, class: "achse" }));
  graph.append(svg("text", { x: left - 6, y: top + 4, "text-anchor": "end", class: "beschriftung" }, max));
  weeks.forEach((w, i) => {
    let y = height - bottom;
    const x = left + i * step + step * 0.15;
    for (const [key, label] of SERIES) {
      const h = w[key] * scale;
      if (h > 0) {
        y -= h;
        graph.append(svg("rect", { x, y, width: step * 0.7, height: h, class: `balken ${key}` },
          svg("title", {}, `${w.woche}: ${w[key]} ${label}`)));
      }
    }
    graph.append(svg("text", { x: x + step * 0.35, y: y - 4, "text-anchor": "middle", class: "beschriftung" }, w.fragen));
    graph.append(svg("text", { x: x + step * 0.35, y: height - bottom + 16, "text-anchor": "middle", class: "beschriftung" }, `KW ${w.woche.slice(-2)}`));
  });
  const legend = el("p", { class: "legende" }, SERIES.map(([key, label]) => el("span", {}, el("i", { class: `farbe ${key}` }), ` ${label} `)));
  const pct = (v) => (v === null ? "–" : `${Math.round(v * 100)} %`);
  const table = el("table", { class: "klein" },
    el("thead", {}, el("tr", {}, el("th", {}, "Woche"), el("th", {}, "Fragen"), el("th", {}, "beantwortet"), el("th", {}, "nachgefragt"), el("th", {}, "abgelehnt"))),
    el("tbody", {}, weeks.map((w) => el("tr", {}, el("td", {}, `${w.woche} (ab ${germanDate(w.ab)})`), el("td", {}, w.fragen),
      el("td", {}, pct(w.anteile.beantwortet)), el("td", {}, pct(w.anteile.nachgefragt)), el("td", {}, pct(w.anteile.abgelehnt))))));
  return [graph, legend, table];
}

async function loadUsage() {
  try {
    const u = await api("GET", "/nutzung");
    document.getElementById("diagramm").replaceChildren(...chart(u.wochen));
    document.getElementById("top-abschnitte").replaceChildren(...(u.abschnitte.length
      ? u.abschnitte.map((s) => el("li", { title: s.abschnitt }, `${s.titel || s.abschnitt} (${s.anzahl}×)`)) : [el("li", {}, "noch keine")]));
    document.getElementById("luecken-titel").textContent = `Offene Lücken: ${u.offene_luecken}`;
    document.getElementById("luecken").replaceChildren(...(u.luecken.length
      ? u.luecken.map((g) => el("li", {}, `${g.anzahl}× „${g.frage}“`)) : [el("li", {}, "keine")]));
  } catch (error) {
    say(error.message, "fehler");
  }
}

async function loadChanges() {
  try {
    const changes = await api("GET", "/historie");
    document.getElementById("alle-aenderungen").replaceChildren(...changes.map((c) => {
      const item = historyItem(c, null);
      item.prepend(el("code", {}, c.document), " · ");
      return item;
    }));
  } catch (error) {
    say(error.message, "fehler");
  }
}

function showTab(name) {
  for (const button of document.querySelectorAll(".reiter button")) button.classList.toggle("aktiv", button.dataset.reiter === name);
  for (const section of document.querySelectorAll(".bereich")) section.hidden = section.id !== name;
  if (name === "nutzung") loadUsage();
  if (name === "aenderungen") loadChanges();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("hochladen").addEventListener("submit", upload);
  for (const button of document.querySelectorAll(".reiter button")) button.addEventListener("click", () => showTab(button.dataset.reiter));
  refresh().catch((error) => say(error.message, "fehler"));
});
