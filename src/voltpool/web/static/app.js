// voltpool web app: every screen is a view of the JSON API (/v1, /docs); see voltpool/web.
// Plain ES module, no build step. Times are shown in the community's zone, as the API gives.

const main = document.getElementById("main");
const nav = document.getElementById("nav");

// ------------------------------------------------------------------ the API and the tokens

const tokens = {
  get access() { return sessionStorage.getItem("voltpool.access"); },
  get refresh() { return sessionStorage.getItem("voltpool.refresh"); },
  save(answer) {
    sessionStorage.setItem("voltpool.access", answer.access_token);
    sessionStorage.setItem("voltpool.refresh", answer.refresh_token);
  },
  clear() {
    sessionStorage.removeItem("voltpool.access");
    sessionStorage.removeItem("voltpool.refresh");
  },
};

class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem.detail || problem.title || `HTTP ${status}`;
    const rules = (problem.errors || []).map((e) => `${e.field}: ${e.rule}`)
      .filter((rule) => !detail.includes(rule)).join("; "); // each broken rule once
    super(rules ? `${detail}: ${rules}` : detail);
    this.status = status;
    this.errors = problem.errors || []; // [{field, rule}]: which control to mark
  }
}

async function refreshTokens() {
  const answer = await fetch("/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: tokens.refresh }),
  });
  if (!answer.ok) return false;
  tokens.save(await answer.json());
  return true;
}

async function api(path, { method = "GET", body, form, headers = {}, again = true } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (tokens.access) sent.Authorization = `Bearer ${tokens.access}`;
  let payload;
  if (form) payload = new URLSearchParams(form);
  else if (body !== undefined) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const answer = await fetch(path, { method, headers: sent, body: payload });
  if (answer.status === 401 && again && tokens.refresh && (await refreshTokens())) {
    return api(path, { method, body, form, headers, again: false });
  }
  if (answer.status === 401 && path !== "/v1/auth/token") {
    tokens.clear();
    location.hash = "#/login";
    throw new ApiError(401, { detail: "please log in again" });
  }
  const data = answer.status === 204 ? null : await answer.json().catch(() => ({}));
  if (!answer.ok) throw new ApiError(answer.status, data || {});
  return data;
}

async function optional(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

// ------------------------------------------------------------------ time in a named zone

function zoneParts(instant, zone) {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return { y: +parts.year, m: +parts.month, d: +parts.day, hh: +parts.hour, mm: +parts.minute };
}

function offsetMs(instant, zone) {
  const p = zoneParts(instant, zone);
  const minute = Math.floor(instant.getTime() / 60000) * 60000;
  return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm) - minute;
}

/** The instant when the clocks of `zone` show y-m-d hh:mm. */
function zonedInstant(y, m, d, hh, mm, zone) {
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  let guess = wall - offsetMs(new Date(wall), zone);
  guess = wall - offsetMs(new Date(guess), zone);
  return new Date(guess);
}

/** The next instant after `now` when `zone` shows hh:mm (today, else tomorrow). */
function nextLocal(now, hh, mm, zone) {
  const p = zoneParts(now, zone);
  let at = zonedInstant(p.y, p.m, p.d, hh, mm, zone);
  if (at <= now) at = zonedInstant(p.y, p.m, p.d + 1, hh, mm, zone);
  return at;
}

function clock(iso, zone) {
  const p = zoneParts(new Date(iso), zone);
  return `${String(p.hh).padStart(2, "0")}:${String(p.mm).padStart(2, "0")}`;
}

function day(iso, zone) {
  const p = zoneParts(new Date(iso), zone);
  return `${p.y}-${String(p.m).padStart(2, "0")}-${String(p.d).padStart(2, "0")}`;
}

/** "HH:MM" of an API `*_local` field (RFC 3339 with the zone's offset). */
const hhmm = (local) => local.slice(11, 16);
const pct = (share) => `${Math.round(share * 100)} %`;
const kw = (value) => `${value.toFixed(1)} kW`;
const eur = (value) => `${value.toFixed(2)} €`;

async function serviceNow() {
  const health = await api("/healthz");
  return new Date(health.now);
}

// ------------------------------------------------------------------ small DOM helpers

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function failure(error) {
  return h("p", { class: "error", role: "alert" }, error.message);
}

// ------------------------------------------------------------------ charts (Plotly, lazily)

let plotlyLoading = null;
function plotly() {
  plotlyLoading ??= new Promise((resolve, reject) => {
    const script = h("script", { src: "vendor/plotly.min.js" });
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("the chart library did not load"));
    document.head.append(script);
  });
  return plotlyLoading;
}

/** Plotly and the node on the page (a chart drawn before it is sizes itself to 700 px). */
async function ready(node) {
  const Plotly = await plotly();
  while (!node.isConnected) await new Promise(requestAnimationFrame);
  return Plotly;
}

async function drawPlan(node, plan) {
  const Plotly = await ready(node);
  const x = plan.slots.map((s) => s.start_local.slice(0, 16).replace("T", " "));
  const power = plan.slots.map((s) => s.power_kw);
  const data = [
    {
      type: "bar", x, y: power, name: "power (kW)",
      marker: { color: power.map((p) => (p < 0 ? "#b3261e" : "#1f7a3a")) },
      hovertemplate: "%{x|%H:%M}: %{y:.1f} kW<extra></extra>",
    },
    {
      type: "scatter", mode: "lines", line: { shape: "hv", color: "#0b5cad" }, x,
      y: plan.slots.map((s) => s.import_price_per_kwh), name: "price (€/kWh)", yaxis: "y2",
      hovertemplate: "%{x|%H:%M}: %{y:.3f} €/kWh<extra></extra>",
    },
  ];
  const layout = {
    margin: { l: 44, r: 48, t: 8, b: 32 }, height: 220, showlegend: false, bargap: 0.1,
    xaxis: { type: "date", tickformat: "%H:%M", title: { text: `time (${plan.timezone})` } },
    yaxis: { title: { text: "kW" }, zeroline: true },
    yaxis2: { title: { text: "€/kWh" }, overlaying: "y", side: "right", showgrid: false },
  };
  await Plotly.react(node, data, layout, { displayModeBar: false, responsive: true });
}

async function drawSite(node, plan, zone) {
  const Plotly = await ready(node);
  const x = plan.slots.map((s) => s.start_local.slice(0, 16).replace("T", " "));
  const data = [
    {
      type: "scatter", mode: "lines", fill: "tozeroy", line: { shape: "hv", color: "#0b5cad" }, x,
      y: plan.slots.map((s) => s.site_import_kw), name: "planned import (kW)",
      hovertemplate: "%{x|%H:%M}: %{y:.1f} kW<extra></extra>",
    },
    {
      type: "scatter", mode: "lines", line: { shape: "hv", color: "#b3261e", dash: "dash" }, x,
      y: plan.slots.map((s) => s.import_limit_kw), name: "import limit (kW)",
      hovertemplate: "limit %{y:.0f} kW<extra></extra>",
    },
  ];
  const layout = {
    margin: { l: 50, r: 12, t: 8, b: 36 }, height: 260, legend: { orientation: "h", y: 1.15 },
    xaxis: { type: "date", tickformat: "%H:%M", title: { text: `time (${zone})` } },
    yaxis: { title: { text: "kW" }, rangemode: "tozero" },
  };
  await Plotly.react(node, data, layout, { displayModeBar: false, responsive: true });
}

// ------------------------------------------------------------------ screens

async function loginScreen() {
  nav.replaceChildren();
  const message = h("p", { role: "alert", class: "error" });
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        try {
          const answer = await api("/v1/auth/token", {
            method: "POST",
            form: { username: data.get("email"), password: data.get("password") },
          });
          tokens.save(answer);
          location.hash = "#/";
        } catch (error) {
          message.textContent = error.message;
        }
      },
    },
    h("label", {}, "Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    h("label", {}, "Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Log in"),
    message,
  );
  show(h("section", { class: "login panel" }, h("h1", {}, "Log in to voltpool"), form));
  form.querySelector("input").focus();
}

function navigation(me) {
  nav.replaceChildren(...[
    h("a", { href: "#/" }, me.role === "owner" ? "My cars" : "My community"),
    me.role === "owner" ? h("a", { href: "#/credits" }, "Credits") : null,
    me.role === "owner" ? h("a", { href: "#/v2v" }, "Share kWh") : null,
    me.role === "owner" ? h("a", { href: "#/backup" }, "Backup") : null,
    me.role === "owner" ? h("a", { href: "#/battery" }, "Battery") : null,
    h("a", { href: "#/account" }, "Account"),
    h("span", { class: "muted who", "data-testid": "me" }, me.email),
    h("button", { class: "plain", type: "button", onclick: signOut }, "Log out"),
  ].filter(Boolean));
}

function socBar(car, target, floor) {
  const mark = (share, name, text) => [
    h("div", { class: `mark ${name}`, style: `left:${share * 100}%` }),
    h("span", { class: `label ${name}`, style: `left:${share * 100}%` }, text),
  ];
  return h(
    "div",
    {
      class: "soc", role: "meter", "aria-label": `state of charge of ${car.name}`,
      "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(car.soc_now * 100),
    },
    h("div", { class: "fill", style: `width:${car.soc_now * 100}%` }),
    mark(car.soc_min, "reserve", `reserve ${pct(car.soc_min)}`),
    floor > car.soc_min ? mark(floor, "floor", `V2G floor ${pct(floor)}`) : null,
    mark(target, "target", `target ${pct(target)}`),
    h("span", { class: "value" }, pct(car.soc_now)),
  );
}

function dischargeList(plan) {
  if (!plan || !plan.discharges.length) {
    return h("p", { class: "muted", "data-testid": "no-discharge" }, "No discharge planned.");
  }
  return h(
    "ul",
    { class: "blocks", "aria-label": "planned discharges" },
    plan.discharges.map((d) =>
      h(
        "li",
        { "data-testid": "discharge" },
        h("b", { class: "give" }, `${hhmm(d.from_local)}–${hhmm(d.to_local)}`),
        ` gives ${d.energy_kwh.toFixed(1)} kWh: worth ${d.worth_per_kwh.toFixed(3)} €/kWh, `,
        `battery wear ${d.wear_per_kwh.toFixed(3)} €/kWh (${eur(d.energy_kwh * d.wear_per_kwh)})`,
      ),
    ),
  );
}

function modeOf(car, session, now) {
  if (session && session.charge_now) return "charge-now";
  const until = car.rules.no_discharge_until;
  return until && new Date(until) > now ? "no-discharge-today" : "automatic";
}

async function carCard(car, context) {
  const { now, zone } = context;
  // an away car has neither plan nor session, one powering its house in a power cut no
  // grid plan (no 404s asked for)
  const islandedHome = context.homes.find((home) => home.id === car.home_id && home.outage);
  const [plan, session] = car.plugged_in
    ? await Promise.all([
        islandedHome ? null : optional(`/v1/cars/${car.id}/plan`),
        optional(`/v1/cars/${car.id}/sessions/current`)])
    : [null, null];
  const target = session ? session.soc_target : car.soc_target;
  const card = h("article", {
    class: "panel car", "data-testid": "car", "data-car-id": car.id,
    "data-plan-id": plan ? plan.plan_id : "", "aria-label": car.name,
  });
  const status = h("p", { role: "status", class: "error" });
  const refresh = async () => card.replaceWith(await carCard(await api(`/v1/cars/${car.id}`), context));

  const goal = session
    ? h("div", { class: "goal" },
        h("strong", { "data-testid": "goal" }, `${pct(session.soc_target)} by ${hhmm(session.departure_local)}`),
        h("button", { class: "plain", type: "button", "aria-expanded": "false", onclick: (e) => {
          editor.hidden = !editor.hidden;
          e.currentTarget.setAttribute("aria-expanded", String(!editor.hidden));
          if (!editor.hidden) editor.querySelector("input").focus();
        } }, "Change"))
    : h("p", { class: "muted" }, "Away (not plugged in).");

  const editor = h("form", { class: "inline", hidden: true, onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(editor);
    const [hh, mm] = String(data.get("departure")).split(":").map(Number);
    try {
      const latest = await serviceNow();
      await api(`/v1/cars/${car.id}/sessions/current`, {
        method: "PATCH",
        body: {
          departure: nextLocal(latest, hh, mm, zone).toISOString(),
          soc_target: Number(data.get("target")) / 100,
        },
      });
      await refresh();
    } catch (error) {
      status.textContent = error.message;
    }
  } },
    h("label", {}, "Leave at", h("input", { name: "departure", type: "time", required: true,
      value: session ? hhmm(session.departure_local) : "07:30" })),
    h("label", {}, "Charged to (%)", h("input", { name: "target", type: "number", min: 0, max: 100, step: 1,
      required: true, value: Math.round(target * 100) })),
    h("button", { type: "submit" }, "Save"),
  );

  const mode = h("select", { name: "mode", onchange: async () => {
    const p = zoneParts(now, zone);
    const chargeNow = mode.value === "charge-now";
    const rules = { ...car.rules, no_discharge_until:
      mode.value === "no-discharge-today" ? zonedInstant(p.y, p.m, p.d + 1, 0, 0, zone).toISOString() : null };
    try {
      if (session && session.charge_now !== chargeNow) {
        await api(`/v1/cars/${car.id}/sessions/current`, { method: "PATCH", body: { charge_now: chargeNow } });
      }
      if (!chargeNow) await api(`/v1/cars/${car.id}/rules`, { method: "PUT", body: rules });
      await refresh();
    } catch (error) {
      status.textContent = error.message;
    }
  } },
    h("option", { value: "automatic" }, "Automatic (V2G when it pays)"),
    session ? h("option", { value: "charge-now" }, "Charge now (full power to the target)") : null,
    h("option", { value: "no-discharge-today" }, "No discharge today"),
  );
  mode.value = modeOf(car, session, now);

  const rulesForm = rulesEditor(car, status, refresh);

  const chart = h("div", { class: "chart", "data-testid": "plan-chart", role: "img",
    "aria-label": `plan of ${car.name} for the next 24 hours: power per slot and price` });
  card.append(...[
    h("div", { class: "card-head" },
      h("h2", {}, h("a", { href: `#/cars/${car.id}` }, car.name)),
      h("span", { class: `pill ${car.plugged_in ? "on" : ""}` }, car.plugged_in ? "plugged in" : "away")),
    socBar(car, target, car.rules.v2g_floor_soc || 0),
    goal,
    editor,
    h("label", {}, "Mode", mode),
    rulesForm,
    plan && plan.shortfall_kwh > 1e-6
      ? h("p", { class: "shortfall", "data-testid": "shortfall" },
          plan.charge_now
            ? `Charging as fast as the site allows, ${plan.shortfall_kwh.toFixed(1)} kWh slower than full power: ${plan.shortfall_reason}`
            : `Target not reached: ${plan.shortfall_reason || `${plan.shortfall_kwh.toFixed(1)} kWh short`}`)
      : null,
    plan ? h("h3", {}, `Plan, planned ${clock(plan.planned_at, zone)} (${plan.reason})`) : null,
    plan ? chart : h("p", { class: "muted", "data-testid": "no-plan" }, !car.plugged_in ? "No plan while away."
      : islandedHome && car.max_discharge_kw > 0
        ? `Powering the house during the power cut (until ${hhmm(islandedHome.outage.end_local)}).`
      : islandedHome ? "Idle during the power cut: its charger cannot give energy back."
        : "Planning…"),
    dischargeList(plan),
    status,
  ].filter(Boolean));
  if (plan) drawPlan(chart, plan).catch((error) => status.append(error.message));
  return card;
}

/** The owner's V2G rules for the car (the API's `rules`; empty fields: no such rule). */
function rulesEditor(car, status, refresh) {
  const rules = car.rules;
  const number = (value) => (value === null || value === undefined ? "" : value);
  const form = h("form", { class: "inline", onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const optionalNumber = (name) => (data.get(name) === "" ? null : Number(data.get(name)));
    const hours = String(data.get("hours")).split(",").map((w) => w.trim()).filter(Boolean);
    try {
      await api(`/v1/cars/${car.id}/rules`, { method: "PUT", body: {
        ...rules,
        v2g_floor_soc: Number(data.get("floor") || 0) / 100,
        v2g_max_kwh_per_day: optionalNumber("cap"),
        max_cycles_per_week: optionalNumber("cycles"),
        discharge_hours: hours,
      } });
      await refresh();
    } catch (error) {
      status.textContent = error.message;
    }
  } },
    h("label", {}, "V2G floor (%)", h("input", { name: "floor", type: "number", min: 0, max: 100, step: 1,
      value: Math.round((rules.v2g_floor_soc || 0) * 100) })),
    h("label", {}, "Most V2G a day (kWh)", h("input", { name: "cap", type: "number", min: 0, step: 0.5,
      value: number(rules.v2g_max_kwh_per_day) })),
    h("label", {}, "Most cycles a week", h("input", { name: "cycles", type: "number", min: 0, step: 0.1,
      value: number(rules.max_cycles_per_week) })),
    h("label", {}, "Discharge only (e.g. 17:00-22:00)", h("input", { name: "hours",
      value: (rules.discharge_hours || []).join(", ") })),
    h("button", { type: "submit" }, "Save rules"),
  );
  return h("details", { class: "rules" }, h("summary", {}, "My rules for V2G"), form);
}

async function creditsScreen() {
  const ctx = await context();
  const [wallet, agreements] = await Promise.all([api("/v1/credits?limit=200"), api("/v1/v2v/agreements")]);
  const holds = agreements.filter((a) => a.status === "running" && a.receiver_email === ctx.me.email);
  show(
    h("h1", {}, "Credits"),
    credits({ ...wallet, moves: [] }),
    h("section", { class: "panel", "aria-label": "pending holds" },
      h("h2", {}, "Held for V2V"),
      holds.length
        ? h("ul", { class: "blocks" }, holds.map((a) => h("li", { "data-testid": "hold" },
            `${a.estimate_credits.toFixed(3)} credits held for ${a.ac_kwh.toFixed(2)} kWh from ${a.giver_email} `,
            `(${hhmm(a.start_local)}–${hhmm(a.end_local)}); you pay for what is delivered, never more`)))
        : h("p", { class: "muted" }, "Nothing held.")),
    h("section", { class: "panel", "aria-label": "credit history" },
      h("h2", {}, "History"),
      h("table", { class: "moves", "aria-label": "all credit moves" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "Credits"),
          h("th", { scope: "col" }, "With"), h("th", { scope: "col" }, "What"))),
        h("tbody", {}, wallet.moves.map((m) => h("tr", { "data-testid": "move" },
          h("td", {}, day(m.at, ctx.zone), " ", clock(m.at, ctx.zone)),
          h("td", { class: m.amount_credits < 0 ? "give" : "charge" }, `${m.amount_credits > 0 ? "+" : ""}${m.amount_credits.toFixed(3)}`),
          h("td", {}, m.counterparty),
          h("td", {}, m.memo || m.code)))))),
  );
}

function credits(wallet) {
  const message = h("p", { role: "status" });
  const form = h("form", { class: "inline", onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const sent = await api("/v1/credits/transfers", {
        method: "POST",
        headers: { "Idempotency-Key": crypto.randomUUID() },
        body: { to_email: data.get("to"), amount_credits: Number(data.get("amount")), memo: data.get("memo") },
      });
      message.className = "";
      message.textContent = `Sent ${sent.amount_credits} credits to ${sent.to_email}.`;
      panel.replaceWith(credits(await api("/v1/credits")));
    } catch (error) {
      message.className = "error";
      message.textContent = error.message;
    }
  } },
    h("label", {}, "Friend's email", h("input", { name: "to", type: "email", required: true })),
    h("label", {}, "Credits", h("input", { name: "amount", type: "number", min: 0.001, step: 0.001, required: true })),
    h("label", {}, "Note", h("input", { name: "memo", maxlength: 200 })),
    h("button", { type: "submit" }, "Send"),
  );
  const panel = h("section", { class: "panel", "aria-label": "credits" },
    h("h2", {}, "Credits"),
    h("div", { class: "balance", "data-testid": "balance" }, wallet.balance_credits.toFixed(3)),
    wallet.pending_out_credits > 0
      ? h("p", { class: "muted" }, `${wallet.pending_out_credits.toFixed(3)} held for V2V; available ${wallet.available_credits.toFixed(3)}`)
      : null,
    h("ul", { class: "moves", "aria-label": "recent credit moves" },
      wallet.moves.slice(0, 5).map((move) =>
        h("li", {}, h("b", { class: move.amount_credits < 0 ? "give" : "charge" },
          `${move.amount_credits > 0 ? "+" : ""}${move.amount_credits.toFixed(3)}`),
          ` ${move.counterparty}${move.memo ? ` — ${move.memo}` : ""}`))),
    h("h3", {}, "Send credits to a friend"),
    form,
    message,
  );
  return panel;
}

/** A banner per home the grid has cut off: since when, back when, and where to look. */
function outageBanners(homes, cars) {
  return homes.filter((home) => home.outage).map((home) =>
    h("p", { class: "panel outage", role: "alert", "data-testid": "outage-banner" },
      h("b", {}, "Power cut. "),
      `${home.name} is off the grid since ${hhmm(home.outage.start_local)}, expected back at `,
      `${hhmm(home.outage.end_local)}. `,
      givers(home, cars).length
        ? ["Your plugged-in cars are powering the house: ", h("a", { href: "#/backup" }, "see how long")]
        : ["No car plugged in here can give energy back: the house is dark. ",
           h("a", { href: "#/backup" }, "Backup")]));
}

/** The home's plugged-in cars whose chargers can discharge (they carry it in a power cut). */
const givers = (home, cars) =>
  cars.filter((c) => c.home_id === home.id && c.plugged_in && c.max_discharge_kw > 0);

async function flow(homes, cars) {
  // grid = the houses' load + what the cars draw now (negative: they give); a home cut off by
  // an outage takes nothing from the grid: its plugged-in cars give what the house uses
  const islanded = new Set(homes.filter((home) => home.outage).map((home) => home.id));
  const onGrid = cars.filter((c) => c.plugged_in && !islanded.has(c.home_id));
  const plans = await Promise.all(onGrid.map((c) => optional(`/v1/cars/${c.id}/plan`)));
  const houseKw = homes.reduce((sum, home) => sum + home.house_load_kw, 0);
  const islandKw = homes.filter((home) => home.outage && givers(home, cars).length)
    .reduce((sum, home) => sum + home.house_load_kw, 0);
  const carsKw = plans.filter(Boolean).reduce((sum, p) => sum + (p.slots[0]?.power_kw ?? 0), 0) - islandKw;
  const gridKw = homes.filter((home) => !home.outage).reduce((sum, home) => sum + home.house_load_kw, 0)
    + carsKw + islandKw;
  const gridOff = homes.length > 0 && homes.every((home) => home.outage);
  return h("section", { class: "panel", "aria-label": "power flow now" },
    h("h2", {}, "Now"),
    h("div", { class: "flow", "data-testid": "flow" },
      gridOff
        ? h("div", { class: "node" }, "Grid", h("b", {}, "off"), "power cut")
        : h("div", { class: "node" }, "Grid", h("b", {}, kw(Math.abs(gridKw))), gridKw < 0 ? "export" : "import"),
      h("span", { class: "arrow", "aria-hidden": "true" }, gridKw < 0 ? "←" : "→"),
      h("div", { class: "node" }, "Home", h("b", {}, kw(houseKw))),
      h("span", { class: "arrow", "aria-hidden": "true" }, carsKw < 0 ? "←" : "→"),
      h("div", { class: "node" }, "Cars", h("b", {}, kw(Math.abs(carsKw))), carsKw < 0 ? "giving" : "charging")));
}

async function context() {
  const [me, now, homes] = await Promise.all([api("/v1/me"), serviceNow(), api("/v1/homes")]);
  navigation(me);
  const community = homes.length ? await optional(`/v1/communities/${homes[0].community_id}`) : null;
  return { me, now, homes, zone: community ? community.timezone : "UTC" };
}

/** A form posting a grid event from a local From-To window: ``kind`` "capacity" asks for
 * the import limit, "outage" cuts every home of the community off the grid. */
function gridEventForm(community, zone, now, done, kind = "capacity") {
  const message = h("p", { role: "status", class: "error" });
  const form = h("form", { class: "inline", "data-kind": kind, onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const [fh, fm] = String(data.get("from")).split(":").map(Number);
    const [th, tm] = String(data.get("to")).split(":").map(Number);
    const start = nextLocal(new Date(now.getTime() - 15 * 60000), fh, fm, zone);
    let end = nextLocal(start, th, tm, zone);
    const limit = kind === "capacity" ? { import_limit_kw: Number(data.get("limit")) } : {};
    try {
      await api(`/v1/communities/${community.id}/grid-events`, {
        method: "POST",
        body: { kind, start: start.toISOString(), end: end.toISOString(), ...limit },
      });
      await done();
    } catch (error) {
      message.textContent = error.message;
    }
  } },
    h("label", {}, "From", h("input", { name: "from", type: "time", required: true })),
    h("label", {}, "To", h("input", { name: "to", type: "time", required: true })),
    kind === "capacity"
      ? h("label", {}, "Import limit (kW)", h("input", { name: "limit", type: "number", min: 0, step: 1, required: true }))
      : null,
    h("button", { type: "submit" }, kind === "capacity" ? "Post limit" : "Post power cut"),
  );
  return [form, message];
}

function eventList(community, events, done) {
  if (!events.length) return h("p", { class: "muted" }, "No grid events ahead.");
  const end = (e) => async () => {
    await api(`/v1/communities/${community.id}/grid-events/${e.id}`, { method: "DELETE" });
    await done();
  };
  return h("ul", { class: "blocks", "aria-label": "grid events" }, events.map((e) =>
    h("li", { "data-testid": "grid-event", "data-event-id": e.id },
      h("button", { type: "button", class: "plain", onclick: end(e),
        "aria-label": `End now: the ${e.kind === "outage" ? "power cut" : `${e.kind} event`} of ${hhmm(e.start_local)}` }, "End now"), " ",
      h("b", {}, `${hhmm(e.start_local)}–${hhmm(e.end_local)}`),
      e.kind === "outage"
        ? ` power cut of ${e.home_ids ? `${e.home_ids.length} home${e.home_ids.length > 1 ? "s" : ""}` : "every home"}: the cars plugged in there power their houses`
        : [e.kind === "capacity"
            ? ` import limit ${e.import_limit_kw ?? "–"} kW: planned peak `
            : ` price ${e.price_per_kwh} €/kWh: planned peak `,
          h("span", { "data-testid": "response" },
            e.planned_max_import_kw === null ? "not planned yet" : kw(e.planned_max_import_kw))])));
}

function shortfalls(plan) {
  const groups = plan.shortfalls || [];
  if (!groups.length) return h("p", { "data-testid": "targets" }, "Every car reaches its target.");
  const cars = groups.reduce((n, g) => n + g.cars, 0);
  return h("div", { "data-testid": "targets" },
    h("p", { class: "shortfall" }, `${cars} car${cars > 1 ? "s" : ""} will miss their target:`),
    h("ul", { class: "blocks", "aria-label": "cars missing their targets" }, groups.map((g) =>
      h("li", {}, `${g.cars} car${g.cars > 1 ? "s" : ""}, ${g.shortfall_kwh.toFixed(1)} kWh short in all: ${g.reason}`))));
}

async function operatorScreen(ctx) {
  const communities = await api("/v1/communities");
  const sections = await Promise.all(communities.map(async (community) => {
    const [plan, events, flex, agreements] = await Promise.all([
      optional(`/v1/communities/${community.id}/plan`),
      api(`/v1/communities/${community.id}/grid-events`),
      api(`/v1/communities/${community.id}/flexibility`),
      api(`/v1/v2v/communities/${community.id}/agreements`),
    ]);
    const zone = community.timezone;
    const chart = h("div", { class: "chart site", role: "img",
      "aria-label": "the feeder's planned import against its limit, next 24 hours" });
    const section = h("section", { class: "panel", "data-testid": "community",
      "data-community-id": community.id, "data-plan-id": plan ? plan.plan_id : "",
      "aria-label": community.name });
    const peak = plan ? Math.max(...plan.slots.map((s) => s.site_import_kw)) : null;
    // the fleet's health runs the cell models (seconds): drawn after the rest
    const fleet = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Fleet battery health…"));
    fleetHealth(fleet, community).catch((error) => fleet.replaceChildren(failure(error)));
    section.append(...[
      h("h2", {}, community.name),
      plan
        ? h("p", {}, `${plan.cars_planned} cars planned at ${clock(plan.planned_at, zone)} (${plan.reason}); `,
            `planned peak ${kw(peak)}, limit ${community.import_limit_kw ? kw(community.import_limit_kw) : "none"}.`)
        : h("p", { class: "muted" }, "No plan yet."),
      h("p", { "data-testid": "flexibility" },
        `Now: ${flex.cars} cars plugged in, planned ${kw(flex.planned_kw)}; they could draw `,
        `${kw(flex.up_kw)} more (${flex.up_energy_kwh.toFixed(0)} kWh of room) or ${kw(flex.down_kw)} less`,
        flex.down_hours === null ? "." : ` (${flex.down_energy_kwh.toFixed(0)} kWh above their floors, ${flex.down_hours.toFixed(1)} h at full power).`),
      plan ? chart : null,
      plan ? shortfalls(plan) : null,
      fleet,
      creditFlows(agreements, zone),
      h("h3", {}, "Grid events"),
      eventList(community, events, async () => route(false)),
      h("h3", {}, "Post a capacity limit"),
      ...gridEventForm(community, zone, ctx.now, async () => route(false)),
      h("h3", {}, "Post a power cut (every home)"),
      ...gridEventForm(community, zone, ctx.now, async () => route(false), "outage"),
    ].filter(Boolean));
    if (plan) drawSite(chart, plan, zone);
    return section;
  }));
  show(h("h1", {}, "My community"), ...sections);
}

/** When the first screen is drawn: ms since the page began to load (bench/bench_web.py). */
function drawn() {
  document.body.dataset.firstScreenMs ??= String(Math.round(performance.now()));
}

async function homeScreen() {
  const ctx = await context();
  if (ctx.me.role !== "owner") {
    await operatorScreen(ctx);
    drawn();
    return;
  }
  const [cars, wallet] = await Promise.all([api("/v1/cars"), api("/v1/credits")]);
  const cards = await Promise.all(cars.map((car) => carCard(car, ctx)));
  show(
    h("h1", {}, "My cars"),
    ...outageBanners(ctx.homes, cars),
    await flow(ctx.homes, cars),
    h("div", { class: "grid cars" }, cards.length ? cards : h("p", {}, "No cars yet.")),
    credits(wallet),
  );
  drawn();
}

async function carScreen(carId) {
  const ctx = await context();
  // among the owner's own cars: another owner's id is simply not there (the API would 404)
  const car = (await api("/v1/cars")).find((c) => c.id === carId);
  if (!car) {
    show(h("h1", {}, "Car"), h("p", { class: "error", role: "alert", "data-testid": "refused" },
      "There is no such car among yours."));
    return;
  }
  show(h("h1", {}, car.name), h("div", { class: "grid" }, await carCard(car, ctx)));
}

function backupCard(home, answer, cars, redraw) {
  const hours = (value) => `${value.toFixed(value < 10 ? 1 : 0)} h`;
  const byId = Object.fromEntries(cars.map((c) => [c.id, c]));
  const status = h("p", { role: "status", class: "error" });
  const reserve = (car) => {
    const slider = h("input", {
      type: "range", min: 0, max: 90, step: 5, value: Math.round(byId[car.car_id].soc_min * 100),
      "aria-label": `driving reserve of ${car.name} (%)`, "data-testid": "reserve",
      onchange: async () => {
        try {
          await api(`/v1/cars/${car.car_id}`, { method: "PATCH", body: { soc_min: Number(slider.value) / 100 } });
          await redraw();
        } catch (error) {
          status.textContent = error.message;
        }
      },
      oninput: () => { shown.textContent = `${slider.value} %`; },
    });
    const shown = h("output", {}, `${slider.value} %`);
    return h("label", {}, "Driving reserve (never used for the house)", h("span", { class: "goal" }, slider, shown));
  };
  return h("section", { class: "panel", "data-testid": "backup", "aria-label": `backup of ${home.name}` },
    h("h2", {}, home.name),
    answer.cars.length
      ? h("p", { class: "balance", "data-testid": "hours" },
          answer.hours_full_house >= answer.hours_planned - 1e-9
            ? answer.outage ? `The whole house until the power is back (${hours(answer.hours_planned)})`
              : `${hours(answer.hours_planned)} or more of the whole house`
            : `${hours(answer.hours_full_house)} of the whole house`)
      : h("p", { class: "muted" }, "No car is plugged in: nothing to power the house with."),
    h("p", { class: "muted" }, answer.outage
      ? `Power cut since ${hhmm(answer.outage.start_local)}, expected back at ${hhmm(answer.outage.end_local)}: over the `
        + `${hours(answer.hours_planned)} left`
      : `If the grid went down at ${hhmm(answer.start_local)}: over the next ${hours(answer.hours_planned)}`,
      ` the cars would serve ${answer.served_kwh.toFixed(1)} kWh`,
      answer.unserved_kwh > 1e-6 ? ` and ${answer.unserved_kwh.toFixed(1)} kWh would go unserved` : "",
      ` (the house uses ${kw(answer.house_load_kw_average)} on average).`),
    answer.cars.map((car) => h("div", { class: "panel", "data-testid": "backup-car" },
      h("h3", {}, car.name),
      h("p", {}, `${pct(car.soc_now)} now, ${car.energy_above_reserve_kwh.toFixed(1)} kWh above its reserve of `,
        `${pct(car.reserve_soc)}; `, car.max_discharge_kw <= 0
          ? "its charger cannot give energy back (one-way), so it cannot power the house."
          : car.reaches_reserve_local
            ? `reaches it at ${hhmm(car.reaches_reserve_local)}.` : "keeps above it throughout."),
      reserve(car))),
    answer.circuits.length > 1
      ? [h("h3", {}, "Circuits, shed first at the top"),
         h("ul", { class: "blocks", "aria-label": "circuits" },
           [...answer.circuits].sort((a, b) => a.shed_order - b.shed_order).map((c) =>
             h("li", {}, h("b", {}, c.name), c.critical ? " (critical)" : "",
               `: on ${hours(c.hours_on)}`, c.shed_from_local ? `, off from ${hhmm(c.shed_from_local)}` : ", never shed")))]
      : null,
    status);
}

/** One car's battery: fade so far and at the warranty's end, with V2G and without. */
function batteryCard(car, health) {
  const section = h("section", { class: "panel", "data-testid": "battery", "data-car-id": car.id,
    "aria-label": `battery of ${car.name}` }, h("h2", {}, car.name));
  if (health.status === "collecting") {
    section.append(h("p", { class: "muted", "data-testid": "collecting" },
      `Collecting: ${health.recorded_hours.toFixed(1)} h of the ${health.hours_needed.toFixed(0)} h `,
      "the estimate needs are recorded."));
    return section;
  }
  const { so_far: now, projected: end } = health;
  const years = (value) => `${value.toFixed(1)} years`;
  const row = (label, horizon) => h("tr", {},
    h("th", { scope: "row" }, label),
    h("td", {}, `${horizon.capacity_pct.toFixed(1)} %`),
    h("td", {}, `${horizon.capacity_pct_without_v2g.toFixed(1)} %`),
    h("td", {}, `${horizon.fade_calendar_pct.toFixed(1)} %`),
    h("td", {}, `${horizon.fade_cycling_pct.toFixed(1)} %`),
    h("td", {}, eur(horizon.v2g_cost_eur)));
  section.append(
    h("p", { class: "balance", "data-testid": "capacity-now" }, `${now.capacity_pct.toFixed(1)} % of its capacity left`),
    h("p", { class: "muted" }, `After ${years(now.years)} in service; `,
      `${end.capacity_pct.toFixed(1)} % at the end of its ${health.warranty_years.toFixed(0)}-year warranty `,
      `(${end.capacity_pct_without_v2g.toFixed(1)} % without V2G; the warranty ends at ${health.end_of_life_pct.toFixed(0)} %).`),
    h("p", { "data-testid": "v2g-cost" }, health.v2g_cost_eur_per_kwh === null
      ? "No V2G recorded: it costs this battery nothing."
      : `V2G costs this battery ${(100 * health.v2g_cost_eur_per_kwh).toFixed(1)} cents per kWh given back: `
        + `${eur(end.v2g_cost_eur)} of capacity over ${end.v2g_kwh.toFixed(0)} kWh by the warranty's end.`),
    h("p", { class: "muted", id: `health-${car.id}` }, "Capacity and fade, calendar and cycling (with V2G):"),
    h("div", { class: "scroll" }, h("table", { class: "health", "aria-labelledby": `health-${car.id}` },
      h("thead", {}, h("tr", {}, ...["", "Capacity", "Without V2G", "Calendar fade", "Cycling fade", "V2G cost"]
        .map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, row("So far", now), row("Warranty end", end)))),
    h("details", {}, h("summary", {}, "How this is estimated"),
      h("ul", {}, [`The last ${(health.recorded_hours / 24).toFixed(1)} days as recorded `
        + `(${health.v2g_kwh_recorded.toFixed(1)} kWh given back), ${health.chemistry.toUpperCase()} cells at `
        + `${health.temperature_c} °C, capacity valued at ${health.pack_value_per_kwh} € per kWh.`,
        ...health.assumptions, ...health.warnings].map((text) => h("li", {}, text)))));
  return section;
}

async function batteryScreen() {
  await context();
  const cars = await api("/v1/cars");
  const cards = await Promise.all(cars.map(async (car) => batteryCard(car, await api(`/v1/cars/${car.id}/health`))));
  show(h("h1", {}, "Battery health"), h("p", { class: "muted" },
    "What your battery has lost so far and will by the end of its warranty, and what V2G costs it, "
    + "against the same car without V2G."), ...(cards.length ? cards : [h("p", {}, "No cars yet.")]));
}

/** The credits moving between the community's members with V2V: what is held, what was paid. */
function creditFlows(agreements, zone) {
  const running = agreements.filter((a) => a.status === "running");
  const settled = agreements.filter((a) => a.status !== "running" && a.paid_credits !== null);
  const sum = (list, key) => list.reduce((total, a) => total + (a[key] ?? 0), 0);
  return h("div", { "data-testid": "credit-flows" },
    h("h3", {}, "Credit flows"),
    agreements.length
      ? h("p", {}, `${running.length} V2V agreement${running.length === 1 ? "" : "s"} running `,
          `(${sum(running, "estimate_credits").toFixed(3)} credits held); ${settled.length} settled: `,
          `${sum(settled, "delivered_ac_kwh").toFixed(1)} kWh delivered for ${sum(settled, "paid_credits").toFixed(3)} credits.`)
      : h("p", { class: "muted" }, "No V2V agreements between members yet."),
    agreements.length
      ? h("ul", { class: "blocks", "aria-label": "latest credit flows" }, agreements.slice(0, 5).map((a) =>
          h("li", { "data-testid": "flow-agreement" }, h("b", {}, `${a.giver_email} → ${a.receiver_email}`),
            `: ${a.delivered_ac_kwh.toFixed(1)} of ${a.ac_kwh.toFixed(1)} kWh at ${a.price_credits_per_kwh} credits/kWh, `,
            a.status === "running" ? `until ${clock(a.end, zone)} (running)`
              : `${a.status}, ${(a.paid_credits ?? 0).toFixed(3)} credits paid`)))
      : null);
}

/** The operator's fleet, counted: capacity now and at the warranty's end, V2G's cost. */
async function fleetHealth(node, community) {
  const fleet = await api(`/v1/communities/${community.id}/health`);
  const pctOf = (value) => (value === null ? "–" : `${value.toFixed(1)} %`);
  node.replaceChildren(h("h3", {}, "Fleet battery health"), fleet.cars_estimated
    ? h("p", { "data-testid": "fleet-health" },
        `${fleet.cars_estimated} of ${fleet.cars} cars estimated: ${pctOf(fleet.capacity_now_pct_mean)} capacity now on average, `,
        `${pctOf(fleet.capacity_at_warranty_pct_mean)} at the warranty's end (worst ${pctOf(fleet.capacity_at_warranty_pct_min)}; `,
        `${pctOf(fleet.capacity_at_warranty_pct_without_v2g_mean)} without V2G); ${fleet.cars_below_end_of_life} below `,
        `${fleet.end_of_life_pct.toFixed(0)} %. V2G costs the fleet ${eur(fleet.v2g_cost_eur_total)} by then`,
        fleet.v2g_cost_eur_per_kwh === null ? "." : `, ${(100 * fleet.v2g_cost_eur_per_kwh).toFixed(1)} cents per kWh given back.`)
    : h("p", { class: "muted", "data-testid": "fleet-health" }, `Collecting: no car has a day recorded yet (${fleet.cars} cars).`));
}

async function backupScreen() {
  const ctx = await context();
  const cars = await api("/v1/cars");
  const sections = await Promise.all(ctx.homes.map(async (home) =>
    backupCard(home, await api(`/v1/homes/${home.id}/backup`), cars, () => route(false))));
  show(h("h1", {}, "Backup"), ...outageBanners(ctx.homes, cars), h("p", { class: "muted" },
    "How long your plugged-in cars can power your house if the grid went down now, or for what is left of a power cut."),
    ...(sections.length ? sections : [h("p", {}, "No home yet.")]));
}

function agreementList(agreements, me) {
  if (!agreements.length) return h("p", { class: "muted" }, "No agreements yet.");
  return h("ul", { class: "blocks", "aria-label": "V2V agreements" }, agreements.map((a) => {
    const giving = a.giver_email === me.email;
    return h("li", { "data-testid": "agreement", "data-agreement-id": a.id },
      h("b", { class: giving ? "give" : "charge" }, giving ? `to ${a.receiver_email}` : `from ${a.giver_email}`),
      ` ${a.ac_kwh.toFixed(2)} kWh ${hhmm(a.start_local)}–${hhmm(a.end_local)} at ${a.price_credits_per_kwh} credits/kWh: `,
      a.status === "settled"
        ? `settled, ${a.delivered_ac_kwh.toFixed(2)} kWh delivered, ${a.paid_credits?.toFixed(3)} credits paid`
        : a.status === "cancelled" ? "cancelled" : `running, ${a.estimate_credits.toFixed(3)} credits held`);
  }));
}

function v2vForms(cars, ctx, done) {
  const status = h("p", { role: "status", class: "error" });
  const carChoice = () => h("select", { name: "car" }, cars.map((c) => h("option", { value: c.id }, c.name)));
  const until = (data, name) => {
    const [hh, mm] = String(data.get(name)).split(":").map(Number);
    return nextLocal(ctx.now, hh, mm, ctx.zone).toISOString();
  };
  const send = (path, body) => async (event) => {
    event.preventDefault();
    try {
      await api(path, { method: "POST", body: body(new FormData(event.currentTarget)) });
      await done();
    } catch (error) {
      status.textContent = error.message;
    }
  };
  const ask = h("form", { class: "inline", "aria-label": "ask for kWh", onsubmit: send("/v1/v2v/requests", (d) => ({
    car_id: d.get("car"), energy_kwh: Number(d.get("kwh")), deadline: until(d, "by"),
    max_price_credits_per_kwh: d.get("max") === "" ? null : Number(d.get("max")),
  })) },
    h("label", {}, "Car", carChoice()),
    h("label", {}, "kWh into the battery", h("input", { name: "kwh", type: "number", min: 0.1, step: 0.1, required: true })),
    h("label", {}, "By", h("input", { name: "by", type: "time", required: true })),
    h("label", {}, "Most credits per kWh", h("input", { name: "max", type: "number", min: 0, step: 0.01 })),
    h("button", { type: "submit" }, "Ask"));
  const offer = h("form", { class: "inline", "aria-label": "offer kWh", onsubmit: send("/v1/v2v/offers", (d) => {
    const friends = String(d.get("friends")).split(",").map((e) => e.trim()).filter(Boolean);
    return {
      car_id: d.get("car"), energy_kwh: Number(d.get("kwh")), end: until(d, "until"),
      keep_above_soc: Number(d.get("keep") || 0) / 100, price_credits_per_kwh: Number(d.get("price") || 0),
      consent: friends.length ? friends : "community",
    };
  }) },
    h("label", {}, "Car", carChoice()),
    h("label", {}, "At most kWh", h("input", { name: "kwh", type: "number", min: 0.1, step: 0.1, required: true })),
    h("label", {}, "Until", h("input", { name: "until", type: "time", required: true })),
    h("label", {}, "Keep above (%)", h("input", { name: "keep", type: "number", min: 0, max: 100, step: 1 })),
    h("label", {}, "Credits per kWh", h("input", { name: "price", type: "number", min: 0, step: 0.01 })),
    h("label", {}, "Friends' emails (empty: my community)", h("input", { name: "friends" })),
    h("button", { type: "submit" }, "Offer"));
  return [h("h3", {}, "Ask a friend for kWh"), ask, h("h3", {}, "Offer kWh to friends"), offer, status];
}

async function v2vScreen() {
  const ctx = await context();
  const [cars, requests, offers, agreements] = await Promise.all([
    api("/v1/cars"), api("/v1/v2v/requests"), api("/v1/v2v/offers"), api("/v1/v2v/agreements"),
  ]);
  const withdraw = (path) => async () => { await api(path, { method: "DELETE" }); await route(false); };
  const open = (items) => items.filter((x) => x.status === "open");
  show(
    h("h1", {}, "Share kWh"),
    h("section", { class: "panel", "aria-label": "agreements" }, h("h2", {}, "Agreements"), agreementList(agreements, ctx.me)),
    h("section", { class: "panel", "aria-label": "my requests and offers" },
      h("h2", {}, "My requests and offers"),
      h("ul", { class: "blocks" },
        open(requests).map((r) => h("li", { "data-testid": "request" },
          `asking ${r.remaining_kwh.toFixed(1)} of ${r.energy_kwh.toFixed(1)} kWh by ${hhmm(r.deadline_local)} `,
          h("button", { class: "plain", type: "button", onclick: withdraw(`/v1/v2v/requests/${r.id}`) }, "Withdraw"))),
        open(offers).filter((o) => o.mine).map((o) => h("li", { "data-testid": "offer" },
          `offering ${o.remaining_kwh.toFixed(1)} of ${o.energy_kwh.toFixed(1)} kWh until ${hhmm(o.end_local)} at ${o.price_credits_per_kwh} credits/kWh `,
          h("button", { class: "plain", type: "button", onclick: withdraw(`/v1/v2v/offers/${o.id}`) }, "Withdraw"))),
        open(offers).filter((o) => !o.mine).map((o) => h("li", { "data-testid": "friends-offer" },
          `${o.owner_email} offers ${o.remaining_kwh.toFixed(1)} kWh until ${hhmm(o.end_local)} at ${o.price_credits_per_kwh} credits/kWh`))),
      ...v2vForms(cars, ctx, () => route(false))),
  );
}

// ------------------------------------------------------------------ account settings

/** Log out: forget the tokens here and revoke this session's refresh token. */
function signOut() {
  const refresh = tokens.refresh;
  tokens.clear();
  stream?.abort();
  location.hash = "#/login";
  if (refresh) {
    fetch("/v1/auth/logout", { // keepalive: the request outlives a page left at once
      method: "POST", keepalive: true, headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    }).catch(() => {}); // the refresh token expires anyway
  }
}

/** A form's submit handler: `action(data)` says what was done (shown in `message`), or its
 *  problem is shown there, next to the form, with each field it names marked invalid. */
function submitted(form, message, action) {
  return async (event) => {
    event.preventDefault();
    for (const marked of form.querySelectorAll("[aria-invalid]")) marked.removeAttribute("aria-invalid");
    try {
      const done = await action(new FormData(form));
      message.className = "";
      message.textContent = done;
    } catch (error) {
      message.className = "error";
      message.textContent = error.message;
      for (const { field } of error.errors || []) {
        const control = form.querySelector(`[name="${field.split(".").pop()}"]`);
        if (control) control.setAttribute("aria-invalid", "true");
      }
    }
  };
}

/** A form with its own message below it (errors next to the form they are about). */
function accountForm(label, fields, button, action) {
  const message = h("p", { role: "status", id: `${label.replaceAll(" ", "-")}-message` });
  const form = h("form", { class: "inline", "aria-label": label, "aria-describedby": message.id },
    ...fields, h("button", { type: "submit" }, button));
  form.addEventListener("submit", submitted(form, message, (data) => action(data, form)));
  return [form, message];
}

function profilePanel(me) {
  const shown = h("p", { "data-testid": "profile" });
  const draw = (who) => {
    shown.textContent = `${who.name || "(no display name)"}, ${who.email} (${who.role})`;
    navigation(who);
  };
  draw(me);
  const name = accountForm("display name", [
    h("label", {}, "Display name", h("input", { name: "name", maxlength: 128, autocomplete: "name", value: me.name })),
  ], "Save name", async (data) => {
    const changed = await api("/v1/me", { method: "PATCH", body: { name: data.get("name") } });
    draw(changed);
    return `Saved: you are ${changed.name || "nameless"} now.`;
  });
  const email = accountForm("email", [
    h("label", {}, "New email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    h("label", {}, "Current password", h("input", { name: "current_password", type: "password",
      autocomplete: "current-password", required: true })),
  ], "Change email", async (data, form) => {
    const changed = await api("/v1/me", { method: "PATCH",
      body: { email: data.get("email"), current_password: data.get("current_password") } });
    form.reset();
    draw(changed);
    return `Saved: log in with ${changed.email} from now on.`;
  });
  return h("section", { class: "panel", "aria-label": "profile" },
    h("h2", {}, "Profile"), shown, ...name, h("h3", {}, "Email"), ...email);
}

function passwordPanel() {
  const [form, message] = accountForm("password", [
    h("label", {}, "Current password", h("input", { name: "current_password", type: "password",
      autocomplete: "current-password", required: true })),
    h("label", {}, "New password", h("input", { name: "new_password", type: "password",
      autocomplete: "new-password", required: true })),
    h("label", {}, "New password again", h("input", { name: "new_password_again", type: "password",
      autocomplete: "new-password", required: true })),
  ], "Change password", async (data, form) => {
    if (data.get("new_password") !== data.get("new_password_again")) {
      throw Object.assign(new Error("the two new passwords differ: type the same one twice"),
        { errors: [{ field: "new_password_again" }] });
    }
    const answer = await api("/v1/me/password", { method: "POST", body: {
      current_password: data.get("current_password"), new_password: data.get("new_password") } });
    tokens.save(answer); // this session goes on with the new pair; every other one ends
    form.reset();
    return "Password changed. Your other sessions are signed out; your API keys still work.";
  });
  return h("section", { class: "panel", "aria-label": "password" },
    h("h2", {}, "Password"), form, message);
}

async function keysPanel(zone) {
  const list = h("div");
  const message = h("p", { role: "status" });
  const fresh = h("div", { class: "newkey", "data-testid": "new-key", hidden: true });
  const say = (text, error = false) => { message.className = error ? "error" : ""; message.textContent = text; };
  const drawList = async () => {
    const keys = await api("/v1/api-keys");
    const active = keys.filter((k) => !k.revoked);
    const revoked = keys.length - active.length;
    list.replaceChildren(...[
      active.length
        ? h("ul", { class: "blocks", "aria-label": "API keys" }, active.map((k) =>
            h("li", { "data-testid": "api-key", "data-key-id": k.id },
              h("b", {}, k.name), ` created ${day(k.created_at, zone)} ${clock(k.created_at, zone)} `,
              h("button", { class: "plain", type: "button", "aria-label": `Revoke ${k.name}`, onclick: async () => {
                try {
                  await api(`/v1/api-keys/${k.id}`, { method: "DELETE" });
                  if (fresh.dataset.keyId === k.id) fresh.hidden = true;
                  await drawList();
                  say(`Revoked ${k.name}: it no longer works.`);
                  create.querySelector("input").focus();
                } catch (error) {
                  say(error.message, true);
                }
              } }, "Revoke"))))
        : h("p", { class: "muted" }, "No API keys."),
      revoked ? h("p", { class: "muted" }, `${revoked} revoked key${revoked > 1 ? "s" : ""} not shown.`) : null,
    ].filter(Boolean));
  };
  const [create, created] = accountForm("new API key", [
    h("label", {}, "Name of the device or integration", h("input", { name: "name", maxlength: 128, required: true })),
  ], "Create key", async (data, form) => {
    const key = await api("/v1/api-keys", { method: "POST", body: { name: data.get("name") } });
    const secret = h("input", { readonly: true, value: key.key, "data-testid": "key", spellcheck: "false" });
    const copied = h("span", { role: "status" });
    fresh.dataset.keyId = key.id;
    fresh.replaceChildren(
      h("label", {}, `The key for ${key.name}: shown only now, copy it into the device (send it as X-API-Key)`, secret),
      h("button", { class: "plain", type: "button", onclick: async () => {
        try {
          await navigator.clipboard.writeText(key.key);
          copied.textContent = "Copied.";
        } catch {
          secret.select();
          copied.textContent = "Selected: press Ctrl+C (or ⌘C) to copy it.";
        }
      } }, "Copy"),
      copied);
    fresh.hidden = false;
    form.reset();
    await drawList();
    secret.focus();
    secret.select();
    return `Created ${key.name}.`;
  });
  await drawList();
  return h("section", { class: "panel", "aria-label": "API keys" },
    h("h2", {}, "API keys"),
    h("p", { class: "muted" }, "For a charger, a home battery or an integration: a key acts as you until revoked."),
    list, message, h("h3", {}, "Create a key"), create, created, fresh);
}

async function accountScreen() {
  const ctx = await context();
  const communities = ctx.me.role === "operator" && !ctx.homes.length ? await api("/v1/communities") : [];
  const zone = communities[0]?.timezone ?? ctx.zone;
  show(
    h("h1", {}, "Account"),
    profilePanel(ctx.me),
    passwordPanel(),
    await keysPanel(zone),
    h("section", { class: "panel", "aria-label": "sign out" },
      h("h2", {}, "Sign out"),
      h("p", { class: "muted" }, "Ends this session in this browser (other devices stay signed in)."),
      h("button", { type: "button", onclick: signOut }, "Sign out")),
  );
}

// ------------------------------------------------------------------ live updates and routing

const RECONNECT_MS = 3000;
let stream = null;

/** Follow /v1/stream for this screen: redraw on each new plan; reconnect when the stream
 *  drops (and redraw then: plans may have been missed), renewing an expired token first. */
function follow() {
  stream?.abort();
  stream = new AbortController();
  followUntil(stream.signal);
}

async function followUntil(signal) {
  let reconnected = false;
  while (!signal.aborted) {
    try {
      let answer = await openStream(signal);
      if (answer.status === 401 && (await refreshTokens())) answer = await openStream(signal);
      if (answer.status === 401) return; // logged out: the next call of the screen says so
      if (answer.ok) await readEvents(answer, reconnected);
    } catch {
      if (signal.aborted) return; // a new screen follows again
    }
    reconnected = true;
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

function openStream(signal) {
  return fetch("/v1/stream", {
    headers: { Authorization: `Bearer ${tokens.access}`, Accept: "text/event-stream" },
    signal,
  });
}

async function readEvents(answer, reconnected) {
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let seen = false;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) return;
    buffer += chunk.value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(message)?.[1];
      if (event === "state") {
        seen = true;
        if (reconnected) redrawWhenIdle(); // what changed while the stream was down
      }
      if (event === "plan" && seen) redrawWhenIdle(); // a new plan: draw it
    }
  }
}

let redrawPending = false;
/** Redraw for a new plan, but not under the user's hands (a field in use, a form open). */
function redrawWhenIdle() {
  const busy = () => main.contains(document.activeElement) &&
    ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName) ||
    main.querySelector("form.inline:not([hidden]) input:focus, form.inline.editing");
  if (redrawPending) return;
  redrawPending = true;
  const attempt = () => {
    if (location.hash === "#/account") { redrawPending = false; return; } // no plans; a new key shown
    if (busy()) return setTimeout(attempt, 1000);
    redrawPending = false;
    route(false);
  };
  attempt();
}

async function route(followStream = true) {
  if (!tokens.access && location.hash !== "#/login") location.hash = "#/login";
  const hash = location.hash || "#/";
  try {
    if (hash === "#/login") return loginScreen();
    const car = /^#\/cars\/([^/]+)$/.exec(hash);
    if (hash === "#/backup") await backupScreen();
    else if (hash === "#/v2v") await v2vScreen();
    else if (hash === "#/credits") await creditsScreen();
    else if (hash === "#/account") await accountScreen();
    else if (hash === "#/battery") await batteryScreen();
    else if (car) await carScreen(decodeURIComponent(car[1]));
    else await homeScreen();
    if (hash === "#/account" || hash === "#/battery") stream?.abort(); // nothing there follows the plans
    else if (followStream) follow();
  } catch (error) {
    show(failure(error));
  }
}

window.addEventListener("hashchange", () => route());
route();
