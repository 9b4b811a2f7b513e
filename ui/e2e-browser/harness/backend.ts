// A stand-in for the console's Tauri commands, for the browser tests only. It answers every
// command of src/bindings.ts from an in-page copy of the demo clinic (the same invented staff and
// patients as `digimed db seed-demo`) and checks input the way the core does, with the core's
// error codes, fields and messages, so the screens show what they would show in the console.

import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type {
  AppStatus,
  CallOutcome,
  Consultation,
  ConsultationState,
  DoctorOption,
  Error as AppError,
  Icpc2Code,
  QueueEvent,
  QueueFilter,
  ResultInput,
  ResultVersion,
  ScreeningEntry,
  StaffSession,
  Started,
} from "../../src/bindings";

/** One ICPC-2 entry as the directorate's file has it; the tests inject the list beside the checkout. */
export interface Icpc2Entry {
  code: string;
  text: string;
}

declare global {
  interface Window {
    /** Set by the test (an init script) before the page loads. */
    __DIGIMED_ICPC2__?: Icpc2Entry[];
    /** What the test can do to the stand-in backend. */
    __digimed: Controls;
  }
}

export interface Controls {
  /** Every command the UI sent, in order, with its arguments. */
  calls: { cmd: string; args: unknown; answered: boolean }[];
  /** A partner's referral arrives: a new consultation, announced with a `queue-changed` event. */
  receiveReferral(name: string): Promise<number>;
  /** Sends a `queue-changed` event as the console's watcher would. */
  emitQueueChanged(event: QueueEvent): Promise<void>;
  /** The consultation as the stand-in database holds it. */
  consultation(id: number): Consultation | undefined;
  /** The results filed for a consultation. */
  results(id: number): ResultVersion[];
}

const SERVER = "postgres://db.digimed-oslo.example:5432/digimed";
const CLINIC = 1;
const PARTNER = { id: 1, name: "fjordtrygd" };

interface Staff extends StaffSession {
  password: string;
}

const STAFF: Staff[] = [
  { staff_id: 1, login: "sara.lie@demo.digimed.test", name: "Sara Lie", role: "secretary" },
  { staff_id: 2, login: "anders.moe@demo.digimed.test", name: "Dr. Anders Moe", role: "doctor" },
  { staff_id: 3, login: "kari.dahl@demo.digimed.test", name: "Dr. Kari Dahl", role: "doctor" },
  { staff_id: 4, login: "ola.brekke@demo.digimed.test", name: "Ola Brekke", role: "customer_support" },
  { staff_id: 5, login: "hanne.strand@demo.digimed.test", name: "Hanne Strand", role: "admin" },
].map((s) => ({ ...s, email: s.login, password: `demo-${s.role}` }) as Staff);

const PEOPLE = [
  "Ingrid Solberg",
  "Magnus Haugen",
  "Sofie Berntsen",
  "Eirik Lunde",
  "Nora Vik",
  "Henrik Aasen",
  "Thea Kristiansen",
  "Jonas Myhre",
];
const STATES: ConsultationState[] = [
  "ready_for_pickup",
  "ready_for_pickup",
  "ready_for_pickup",
  "pending_sp",
  "in_progress",
  "completed",
  "cancelled",
  "ready_for_pickup",
];
const OPEN: ConsultationState[] = ["ready_for_pickup", "pending_sp", "in_progress"];
const HOUR = 3_600_000;
const DEADLINE_NEAR = 4 * HOUR;

function error(code: AppError["code"], message: string, field?: string): AppError {
  return field ? { code, message, field } : { code, message };
}

function fold(s: string): string {
  const map: Record<string, string> = { æ: "ae", ø: "o", å: "a", ö: "o", ä: "a", é: "e", ü: "u" };
  return s
    .toLowerCase()
    .replace(/[æøåöäéü]/g, (c) => map[c] ?? c)
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

function component(code: string): string {
  const n = Number(code.slice(1, 3));
  return n < 30 ? "symptom" : n < 70 ? "process" : "diagnosis";
}

function validNationalId(s: string): boolean {
  if (!/^\d{11}$/.test(s)) return false;
  const d = [...s].map(Number);
  const check = (weights: number[]) => {
    const r = 11 - (weights.reduce((sum, w, i) => sum + w * d[i]!, 0) % 11);
    return r === 11 ? 0 : r;
  };
  return check([3, 7, 6, 1, 8, 9, 4, 5, 2]) === d[9] && check([5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) === d[10];
}

/** The demo clinic, as the database would hold it right after `digimed db seed-demo`. */
class Clinic {
  consultations: Consultation[] = [];
  screenings: ScreeningEntry[] = [];
  results: ResultVersion[] = [];
  codes: Icpc2Code[];
  signedIn: Staff | null = null;
  private nextId = 1;

  constructor(icpc2: Icpc2Entry[]) {
    this.codes = icpc2.map((e) => ({
      code: e.code,
      title: e.text,
      chapter: e.code.slice(0, 1),
      component: component(e.code),
    }));
    const now = Date.now();
    PEOPLE.forEach((name, i) => {
      const created = now - (6 + 9 * i) * HOUR;
      const c = this.create(name, created);
      const state = STATES[i % STATES.length]!;
      const doctor = STAFF.filter((s) => s.role === "doctor")[i % 2]!;
      if (state !== "ready_for_pickup" && state !== "cancelled") this.assign(c, doctor, created + 40 * 60_000);
      if (state === "in_progress" || state === "completed") {
        c.state = "in_progress";
        c.starts_at = new Date(created + 2 * HOUR).toISOString();
      }
      if (state === "completed") {
        c.state = "completed";
        c.ends_at = new Date(created + 2 * HOUR + 25 * 60_000).toISOString();
      }
      if (state === "cancelled") {
        c.state = "cancelled";
        c.cancelled_at = new Date(created + 40 * 60_000).toISOString();
        c.cancel_reason = "Patient recovered before the call";
      }
    });
  }

  create(name: string, created: number): Consultation {
    const id = this.nextId++;
    const c: Consultation = {
      id,
      state: "ready_for_pickup",
      patient_person_id: 100 + id,
      organization_id: CLINIC,
      partner_id: PARTNER.id,
      referral_id: id,
      follow_up_of: null,
      category: "insurance",
      assigned_doctor_id: null,
      primary_channel: "video",
      enabled_channels: ["video", "chat"],
      created_at: new Date(created).toISOString(),
      deadline_at: new Date(created + 48 * HOUR).toISOString(),
      assigned_at: null,
      starts_at: null,
      ends_at: null,
      cancelled_at: null,
      cancel_reason: null,
      waiting_seconds: 0,
      treatment_seconds: null,
      deadline_status: "on_track",
      patient_name: name,
      partner_name: PARTNER.name,
      doctor_name: null,
    };
    this.consultations.push(c);
    return c;
  }

  assign(c: Consultation, doctor: Staff, at = Date.now()) {
    c.state = "pending_sp";
    c.assigned_doctor_id = doctor.staff_id;
    c.doctor_name = doctor.name;
    c.assigned_at = new Date(at).toISOString();
  }

  /** The derived columns the core computes when it reads a consultation. */
  view(c: Consultation): Consultation {
    const now = Date.now();
    const created = Date.parse(c.created_at);
    const started = c.starts_at ? Date.parse(c.starts_at) : null;
    const deadline = c.deadline_at ? Date.parse(c.deadline_at) : null;
    let deadline_status: Consultation["deadline_status"] = "none";
    if (deadline !== null) {
      if (started !== null) deadline_status = started <= deadline ? "met" : "breached";
      else if (now > deadline) deadline_status = "breached";
      else deadline_status = deadline - now < DEADLINE_NEAR ? "near" : "on_track";
    }
    return {
      ...c,
      waiting_seconds: Math.floor(((started ?? now) - created) / 1000),
      treatment_seconds:
        started !== null && c.ends_at ? Math.floor((Date.parse(c.ends_at) - started) / 1000) : null,
      deadline_status,
    };
  }

  find(id: number): Consultation {
    const c = this.consultations.find((x) => x.id === id);
    if (!c) throw error("not_found", "No such consultation in your clinic.");
    return c;
  }

  me(): Staff {
    if (!this.signedIn) throw error("unauthorized", "You are not signed in. Sign in again.");
    return this.signedIn;
  }

  requireRole(...roles: Staff["role"][]): Staff {
    const me = this.me();
    if (!roles.includes(me.role)) throw error("forbidden", "Your role may not do this.");
    return me;
  }

  transition(c: Consultation, from: ConsultationState[], doing: string) {
    if (!from.includes(c.state)) {
      throw error("invalid_state_transition", `The consultation is ${c.state.replace(/_/g, " ")}; it cannot be ${doing}.`);
    }
  }
}

async function queueChanged(c: Consultation, kind: QueueEvent["kind"]) {
  const event: QueueEvent = {
    kind,
    consultation_id: c.id,
    organization_id: c.organization_id,
    state: c.state,
    assigned_doctor_id: c.assigned_doctor_id,
    updated_at: new Date().toISOString(),
  };
  await emit("queue-changed", event);
}

function signIn(clinic: Clinic, args: Record<string, unknown>): StaffSession {
  const server = String(args.server ?? "").trim();
  const username = String(args.username ?? "").trim();
  const password = String(args.password ?? "");
  if (!username) throw error("invalid_input", "Enter your username.", "username");
  if (!password) throw error("invalid_input", "Enter your password.", "password");
  if (!/^postgres(ql)?:\/\//.test(server)) {
    throw error("configuration", "The server address must be a database URL (postgres://host:port/database).", "server");
  }
  let url: URL;
  try {
    url = new URL(server.replace(/^postgres(ql)?:/, "http:"));
  } catch {
    throw error("configuration", "The server address is not a valid database URL (expected postgres://host:port/database).", "server");
  }
  if (url.host !== new URL(SERVER.replace(/^postgres:/, "http:")).host) {
    throw error("database_unavailable", "The database server cannot be reached. Check the address and your network.");
  }
  if (url.pathname !== "/digimed") throw error("configuration", "That database does not exist on the server.", "server");
  const staff = STAFF.find((s) => s.login === username && s.password === password);
  if (!staff) throw error("unauthorized", "Wrong username or password.");
  if (args.remember) throw error("keys_unavailable", "The password could not be saved: no keyring. Untick \"Remember me\" to sign in without saving it.", "remember");
  clinic.signedIn = staff;
  const { password: _, ...session } = staff;
  return session;
}

function queueList(clinic: Clinic, filter: QueueFilter): Consultation[] {
  clinic.requireRole("secretary", "doctor", "admin");
  const states = filter.states?.length ? filter.states : OPEN;
  const rows = clinic.consultations
    .filter((c) => states.includes(c.state))
    .filter((c) => filter.assigned_doctor_id == null || c.assigned_doctor_id === filter.assigned_doctor_id)
    .filter((c) => !filter.unassigned_only || c.assigned_doctor_id === null)
    .filter((c) => filter.partner_id == null || c.partner_id === filter.partner_id)
    .map((c) => clinic.view(c));
  const sign = filter.sort === "waiting_shortest" ? -1 : 1;
  rows.sort((a, b) => sign * (Date.parse(a.created_at) - Date.parse(b.created_at)) || a.id - b.id);
  const offset = filter.offset ?? 0;
  return rows.slice(offset, offset + (filter.limit ?? 50));
}

function completeWithResult(clinic: Clinic, id: number, input: ResultInput): Consultation {
  const me = clinic.requireRole("doctor");
  const c = clinic.find(id);
  if (c.assigned_doctor_id !== me.staff_id) throw error("forbidden", "Only the assigned doctor may complete this consultation.");
  clinic.transition(c, ["in_progress"], "completed");
  const code = clinic.codes.find((x) => x.code === input.icpc2.trim().toUpperCase());
  if (!code) throw error("invalid_input", "This is not a code of the imported ICPC-2 list.", "icpc2");
  if (!["referred_gp", "helped", "unable"].includes(input.outcome)) {
    throw error("invalid_input", "Choose one of the listed outcomes.", "outcome");
  }
  const ssn = input.patient_ssn?.trim() || null;
  if (ssn && !validNationalId(ssn)) {
    throw error("invalid_national_id", "The patient's national id is not valid: the check digits do not match.", "patient_ssn");
  }
  const policy = input.policy_number?.trim() || null;
  if (policy && policy.length > 18) throw error("invalid_input", "This may have at most 18 characters.", "policy_number");
  if (policy && !/^\d+$/.test(policy)) throw error("invalid_input", "The policy number has digits only.", "policy_number");
  c.state = "completed";
  c.ends_at = new Date().toISOString();
  clinic.results.push({
    id: clinic.results.length + 1,
    consultation_id: id,
    version: 1,
    author_staff_id: me.staff_id,
    icpc2: code,
    outcome: input.outcome,
    patient_ssn: ssn,
    patient_is_minor: false,
    patient_job_description: input.patient_job_description,
    notes: input.notes,
    policy_number: policy,
    created_at: c.ends_at,
  });
  void queueChanged(c, "update");
  return clinic.view(c);
}

function search(clinic: Clinic, query: string): Icpc2Code[] {
  const folded = fold(query);
  if (!folded) return [];
  const prefix = folded.replace(/ /g, "");
  const words = folded.split(" ").slice(0, 8);
  const rank = (c: Icpc2Code) => {
    const code = c.code.toLowerCase();
    const title = fold(c.title);
    if (code === prefix) return 0;
    if (code.startsWith(prefix)) return 1;
    return title.startsWith(folded) ? 2 : 3;
  };
  return clinic.codes
    .filter((c) => {
      const title = ` ${fold(c.title)}`;
      return c.code.toLowerCase().startsWith(prefix) || words.every((w) => title.includes(` ${w}`));
    })
    .sort((a, b) => rank(a) - rank(b) || a.title.length - b.title.length || a.code.localeCompare(b.code))
    .slice(0, 10);
}

function handle(clinic: Clinic, cmd: string, args: Record<string, unknown>): unknown {
  const id = Number(args.id);
  switch (cmd) {
    case "app_status":
      return { default_server: SERVER, demo: true, clerk: "local_directory", version: "0.1.0" } satisfies AppStatus;
    case "remembered_password":
      return false;
    case "sign_in":
      return signIn(clinic, args);
    case "sign_out":
      clinic.signedIn = null;
      return null;
    case "watch_queue":
      clinic.me();
      return null;
    case "queue_list":
      return queueList(clinic, args.filter as QueueFilter);
    case "consultation_get":
      clinic.me();
      return clinic.view(clinic.find(id));
    case "doctors":
      clinic.me();
      return STAFF.filter((s) => s.role === "doctor").map((s) => ({ id: s.staff_id, name: s.name }) satisfies DoctorOption);
    case "pick_next": {
      const me = clinic.requireRole("doctor");
      const next = queueList(clinic, { states: ["ready_for_pickup"], assigned_doctor_id: null, partner_id: null, limit: 1 })[0];
      if (!next) return null;
      const c = clinic.find(next.id);
      clinic.assign(c, me);
      void queueChanged(c, "update");
      return clinic.view(c);
    }
    case "pick": {
      const me = clinic.requireRole("doctor");
      const c = clinic.find(id);
      clinic.transition(c, ["ready_for_pickup"], "picked");
      clinic.assign(c, me);
      void queueChanged(c, "update");
      return clinic.view(c);
    }
    case "assign": {
      clinic.requireRole("secretary", "admin");
      const c = clinic.find(id);
      const doctor = STAFF.find((s) => s.staff_id === Number(args.doctorId) && s.role === "doctor");
      if (!doctor) throw error("invalid_input", "That is not an active doctor of this clinic.", "doctor_id");
      clinic.transition(c, ["ready_for_pickup", "pending_sp"], "assigned");
      clinic.assign(c, doctor);
      void queueChanged(c, "update");
      return clinic.view(c);
    }
    case "cancel": {
      clinic.requireRole("secretary", "admin", "doctor");
      const c = clinic.find(id);
      const reason = String(args.reason ?? "").trim();
      if (!reason) throw error("invalid_input", "Give a reason for cancelling.", "reason");
      if (reason.length > 500) throw error("invalid_input", "The reason must be at most 500 characters of text.", "reason");
      clinic.transition(c, OPEN, "cancelled");
      c.state = "cancelled";
      c.cancelled_at = new Date().toISOString();
      c.cancel_reason = reason;
      void queueChanged(c, "update");
      return clinic.view(c);
    }
    case "start": {
      const me = clinic.requireRole("doctor");
      const c = clinic.find(id);
      if (c.assigned_doctor_id !== me.staff_id) throw error("forbidden", "Only the assigned doctor may start this consultation.");
      clinic.transition(c, ["pending_sp"], "started");
      c.state = "in_progress";
      c.starts_at = new Date().toISOString();
      void queueChanged(c, "update");
      const started: Started = {
        consultation: { ...clinic.view(c), patient_name: null, partner_name: null, doctor_name: null },
        video_join_url: `https://meet.digimed.test/video/${c.id}-room`,
        chat_join_url: `https://meet.digimed.test/chat/${c.id}-room`,
      };
      return started;
    }
    case "complete_with_result":
      return completeWithResult(clinic, id, args.input as ResultInput);
    case "result_read":
      clinic.me();
      return clinic.results.filter((r) => r.consultation_id === id);
    case "icpc2_search":
      clinic.me();
      return search(clinic, String(args.query ?? ""));
    case "screen": {
      const me = clinic.requireRole("secretary", "customer_support");
      const outcome = (args.outcome as CallOutcome | null) ?? null;
      const note = typeof args.note === "string" && args.note.trim() ? args.note : null;
      if (!outcome && !note) throw error("invalid_input", "Record a call outcome or write a note.", "note");
      const entry: ScreeningEntry = {
        id: clinic.screenings.length + 1,
        consultation_id: id,
        staff_id: me.staff_id,
        call_outcome: outcome,
        note,
        created_at: new Date().toISOString(),
      };
      clinic.screenings.push(entry);
      return entry;
    }
    case "screenings":
      clinic.me();
      return clinic.screenings.filter((s) => s.consultation_id === id);
    default:
      throw error("internal", `The stand-in backend has no command ${cmd}.`);
  }
}

/** Installs the stand-in backend before the console's code runs. */
export function install() {
  const clinic = new Clinic(window.__DIGIMED_ICPC2__ ?? []);
  const calls: Controls["calls"] = [];
  mockWindows("main");
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      const call = { cmd, args: JSON.parse(JSON.stringify(args)) as unknown, answered: false };
      calls.push(call);
      // Commands answer asynchronously, as they do over the real IPC bridge.
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          try {
            resolve(handle(clinic, cmd, args));
          } catch (e) {
            reject(e);
          } finally {
            call.answered = true;
          }
        }, 5),
      );
    },
    { shouldMockEvents: true },
  );
  window.__digimed = {
    calls,
    async receiveReferral(name) {
      const c = clinic.create(name, Date.now());
      await queueChanged(c, "insert");
      return c.id;
    },
    emitQueueChanged: (event) => emit("queue-changed", event),
    consultation: (id) => {
      const c = clinic.consultations.find((x) => x.id === id);
      return c && clinic.view(c);
    },
    results: (id) => clinic.results.filter((r) => r.consultation_id === id),
  };
}
