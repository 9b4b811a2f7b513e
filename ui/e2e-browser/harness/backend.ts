// A stand-in for the console's Tauri commands, for the browser tests only. It answers every
// command of src/bindings.ts from an in-page copy of the demo clinic (the same invented staff and
// patients as `digimed db seed-demo`) and checks input the way the core does, with the core's
// error codes, fields and messages, so the screens show what they would show in the console.

import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type {
  AppStatus,
  NewStaffInput,
  DraftContent,
  DraftInfo,
  DraftKind,
  CallOutcome,
  Consent,
  ConsentKind,
  ConsentStatus,
  Consultation,
  ConsultationState,
  CreatedPartner,
  Count,
  DoctorOption,
  Error as AppError,
  Form,
  FormText,
  Icpc2Code,
  MatchCandidate,
  AppliesTo,
  MatchInput,
  NewTemplate,
  OnboardingRule,
  Onboarded,
  Outcome,
  PartnerInput,
  PartnerOption,
  PatientWaiting,
  Published,
  QueueEvent,
  QueueFilter,
  ReportFormat,
  ReportProgress,
  ReportSummary,
  ResultInput,
  ResultVersion,
  ScreeningEntry,
  StaffSession,
  Started,
  Template,
  TemplateVersion,
  TimelineEntry,
  WalkIn,
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
  /** The forms of an org-patient link, as the stand-in database holds them. */
  forms(patientId: number): Form[];
  /** The org-patient links of the clinic: id, person and name. */
  patients(): { id: number; patient_person_id: number; name: string }[];
  /** The list of outcomes as the stand-in database holds it. */
  outcomes(): Outcome[];
  /** The form templates and their versions as the stand-in database holds them. */
  templates(): Template[];
  /** The clinic's onboarding rules as the stand-in database holds them. */
  rules(): OnboardingRule[];
  /** The clinic's partners, with the webhook secret each was given (the real one keeps it encrypted). */
  partners(): { id: number; name: string; deadline_working_days: number; is_test_partner: boolean; secret: string }[];
  /**
   * Holds the next report export after its first progress event, until `releaseReport`: the
   * test sees the progress bar without depending on how fast anything runs.
   */
  holdReport(): void;
  releaseReport(): void;
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
].map((s) => ({ ...s, email: s.login, organization_id: CLINIC, password: `demo-${s.role}` }) as Staff);

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
/** The referred patients' contact details, as the demo has them (not every one has an e-mail). */
const CONTACTS: { email: string | null; phone: string }[] = [
  { email: "ingrid.solberg@example.com", phone: "+4741234501" },
  { email: "magnus.haugen@example.com", phone: "+4741234502" },
  { email: null, phone: "+4741234503" },
  { email: "eirik.lunde@example.com", phone: "+4741234504" },
  { email: null, phone: "+4741234505" },
  { email: "henrik.aasen@example.com", phone: "+4741234506" },
  { email: "thea.kristiansen@example.com", phone: "+4741234507" },
  { email: null, phone: "+4741234508" },
];

/** Walk-in patients onboarded at the desk: how many of their two forms they signed, and when. */
const WALK_INS = [
  { name: "Mari Eriksen", email: "mari.eriksen@example.com", phone: "+4741234511", signed: 0, daysAgo: 3 },
  { name: "Lars Nilsen", email: "lars.nilsen@example.com", phone: "+4741234512", signed: 1, daysAgo: 8 },
  { name: "Emma Johansen", email: "emma.johansen@example.com", phone: "+4741234513", signed: 2, daysAgo: 20 },
];

/** The demo's consent form templates (shared by the clinics). */
const TEMPLATES = [
  {
    id: 1,
    key: "privacy_gdpr",
    title: "Privacy Policy & GDPR Consent",
    consent_types: ["analytics", "marketing"],
    must_sign_before: "first_appointment",
    body: "We process your personal data to provide care. You may consent to anonymous analytics and to receiving news from us. You can withdraw consent at any time.",
  },
  {
    id: 2,
    key: "profile_sharing",
    title: "Profile Sharing Consent",
    consent_types: ["profile_sharing"],
    must_sign_before: "first_appointment",
    body: "I allow this clinic to see my health profile (date of birth, blood type, allergies, chronic conditions and insurance) that I registered with another clinic.",
  },
  {
    id: 3,
    key: "terms_of_service",
    title: "Terms of Service",
    consent_types: [],
    must_sign_before: null,
    body: "Consultations are given by licensed health personnel. Cancel at least 24 hours in advance.",
  },
];
const DAY = 24 * 3_600_000;
const DEFAULT_PHONE_COUNTRY = "47";

interface Person {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  user_id: number | null;
}

interface PatientRow {
  id: number;
  person: Person;
  created_at: string;
}

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

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

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
  persons: Person[] = [];
  patients: PatientRow[] = [];
  forms: Form[] = [];
  outcomes: Outcome[] = [
    { code: "referred_gp", label: "Referred GP", active: true },
    { code: "helped", label: "Helped", active: true },
    { code: "unable", label: "Unable", active: true },
  ];
  /** Each template's text hash, as the database stores it (computed once the page is up). */
  hashes = new Map<number, string>();
  /** The form templates with their versions (the demo's are shared by the clinics). */
  templates: Template[] = [];
  nextVersionId = 1;
  /** The clinic's onboarding rules, as `digimed db seed-demo` writes them. */
  rules: OnboardingRule[] = [];
  nextActionId = 1;
  /** The staff members who were deactivated. */
  inactive = new Set<number>();
  /** The signed-in staff member's drafts (the database keeps each author's own, encrypted). */
  drafts = new Map<string, { kind: DraftKind; subject_id: number; payload: unknown; created_at: string; updated_at: string }>();
  /** The clinic's referral partners. */
  partners = [{ ...PARTNER, deadline_working_days: 2, is_test_partner: true, secret: "" }];
  ready: Promise<void>;
  private nextId = 1;
  nextFormId = 1;
  private nextConsentId = 1;

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
      const contact = CONTACTS[i]!;
      const person = this.addPerson(name, contact.email, contact.phone);
      c.patient_person_id = person.id;
      this.link(person, created);
      if (state === "completed") {
        const code = this.codes.find((x) => x.code === "R74");
        if (code) {
          this.results.push({
            id: this.results.length + 1,
            consultation_id: c.id,
            version: 1,
            author_staff_id: doctor.staff_id,
            icpc2: code,
            outcome: "helped",
            patient_ssn: null,
            patient_is_minor: false,
            patient_job_description: "Teacher",
            notes: "Sore throat and cough for three days, no fever. Advised rest and fluids.",
            policy_number: "4410029381",
            created_at: c.ends_at!,
          });
        }
      }
    });
    // The walk-ins: Mari has signed nothing and is booked with Dr. Kari Dahl, Lars signed the
    // privacy form only, Emma signed both.
    const kari = STAFF.find((s) => s.name === "Dr. Kari Dahl")!;
    for (const w of WALK_INS) {
      const person = this.addPerson(w.name, w.email, w.phone);
      const when = now - w.daysAgo * DAY;
      const patient = this.link(person, when);
      this.createForm(patient, TEMPLATES[0]!, when);
      this.createForm(patient, TEMPLATES[1]!, when);
      for (const form of this.forms.filter((f) => f.patient_id === patient.id).slice(0, w.signed)) {
        this.signForm(form, "patient", null, when + HOUR);
      }
      if (w.signed === 0) {
        const c = this.create(w.name, now - HOUR);
        Object.assign(c, { patient_person_id: person.id, partner_id: null, referral_id: null, category: "direct", deadline_at: null, partner_name: null });
        this.assign(c, kari, now - 50 * 60_000);
      }
    }
    const seeded = new Date(now - 60 * DAY).toISOString();
    this.templates = TEMPLATES.map((t) => ({
      id: t.id,
      organization_id: null,
      key: t.key,
      title: t.title,
      type: "disclaimer",
      consent_types: [...t.consent_types],
      must_sign_before: t.must_sign_before,
      versions: [{ id: this.nextVersionId++, template_id: t.id, version: 1, body: t.body, sha256: "", published_at: seeded }],
    }));
    const ruleForm = (t: (typeof TEMPLATES)[number], position: number) => ({
      action_id: this.nextActionId++,
      position,
      template_id: t.id,
      title: t.title,
      key: t.key,
      blocking: true,
      published: true,
    });
    this.rules = [
      {
        id: 1,
        organization_id: CLINIC,
        name: "New patients sign privacy and profile sharing",
        applies_to: "new_persons",
        position: 1,
        active: true,
        forms: [ruleForm(TEMPLATES[0]!, 1), ruleForm(TEMPLATES[1]!, 2)],
        welcome_email: true,
      },
      {
        id: 2,
        organization_id: CLINIC,
        name: "Patients known elsewhere sign profile sharing",
        applies_to: "known_persons",
        position: 2,
        active: true,
        forms: [ruleForm(TEMPLATES[1]!, 1)],
        welcome_email: false,
      },
    ];
    this.nextActionId = 10;
    this.ready = Promise.all(
      TEMPLATES.map(async (t) => {
        this.hashes.set(t.id, await sha256(t.body));
      }),
    ).then(() => {
      for (const f of this.forms) f.template_sha256 = this.hashes.get(f.template_id)!;
      for (const t of this.templates) t.versions[0]!.sha256 = this.hashes.get(t.id)!;
    });
  }

  addPerson(name: string, email: string | null, phone: string | null): Person {
    const person: Person = { id: 101 + this.persons.length, name, email, phone, user_id: email ? 501 + this.persons.length : null };
    this.persons.push(person);
    return person;
  }

  link(person: Person, at: number): PatientRow {
    const row: PatientRow = { id: this.patients.length + 1, person, created_at: new Date(at).toISOString() };
    this.patients.push(row);
    return row;
  }

  createForm(patient: PatientRow, t: (typeof TEMPLATES)[number], at: number): Form {
    const form: Form = {
      form_id: this.nextFormId++,
      patient_id: patient.id,
      template_id: t.id,
      template_version: 1,
      title: t.title,
      type: "disclaimer",
      status: "pending",
      blocking: true,
      must_sign_before: t.must_sign_before,
      consent_types: t.consent_types,
      template_sha256: this.hashes.get(t.id) ?? "",
      created_at: new Date(at).toISOString(),
      signed_at: null,
      signed_by: null,
      attested_by_staff_id: null,
      declined_at: null,
      superseded_by: null,
      consents: [],
    };
    this.forms.push(form);
    return form;
  }

  signForm(form: Form, by: "patient" | "staff_attested", staff: Staff | null, at = Date.now()) {
    const when = new Date(at).toISOString();
    form.status = "signed";
    form.signed_at = when;
    form.signed_by = by;
    form.attested_by_staff_id = by === "staff_attested" ? staff!.staff_id : null;
    form.consents = form.consent_types.map(
      (consent_type) =>
        ({ id: this.nextConsentId++, form_id: form.form_id, consent_type, granted_at: when, withdrawn_at: null, withdraw_reason: null }) satisfies Consent,
    );
  }

  patient(id: number): PatientRow {
    const p = this.patients.find((x) => x.id === id);
    if (!p) throw error("not_found", "patient was not found");
    return p;
  }

  form(id: number): Form {
    const f = this.forms.find((x) => x.form_id === id);
    if (!f) throw error("not_found", "form was not found");
    return f;
  }

  /** The core's lock_pending: only a pending form may change. */
  pending(id: number): Form {
    const f = this.form(id);
    if (f.status !== "pending") throw error("invalid_state_transition", `This form is already ${f.status}; it cannot change.`);
    return f;
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
      else if (c.state === "cancelled") deadline_status = "none";
      else if (now > deadline) deadline_status = "breached";
      else deadline_status = deadline - now <= DEADLINE_NEAR ? "near" : "on_track";
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
  // A deactivated login can no longer sign in (NOLOGIN), and says no more than a wrong password.
  if (!staff || clinic.inactive.has(staff.staff_id)) throw error("unauthorized", "Wrong username or password.");
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
  if (!clinic.outcomes.some((o) => o.active && o.code === input.outcome)) {
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

// ---------------------------------------------------------------------------------------------
// Patients: onboarding, forms and consents (crates/core/src/{onboarding,forms,consents}.rs and
// the domain's name, e-mail and phone rules).

/** PersonName::parse: trimmed, inner whitespace collapsed, at most 200 characters. */
function parseName(input: string): string {
  const trimmed = input.trim();
  if (!trimmed) throw error("name_required", "A name is required.", "name");
  if (/[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) throw error("invalid_name", "The name contains control characters.", "name");
  const name = trimmed.split(/\s+/).join(" ");
  if ([...name].length > 200) throw error("name_too_long", "The name is longer than 200 characters.", "name");
  return name;
}

/** Email::parse: lower-cased; a plain local part and a domain with a letters-only top level. */
function parseEmail(input: string): string {
  const trimmed = input.trim();
  if (!trimmed) throw error("email_required", "An e-mail address is required.", "email");
  const address = trimmed.toLowerCase();
  const invalid = () => error("invalid_email_format", "The e-mail address is not valid.", "email");
  if (address.length > 254 || !/^[\x00-\x7f]*$/.test(address)) throw invalid();
  const at = address.indexOf("@");
  if (at < 0) throw invalid();
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const localOk =
    local.length > 0 && local.length <= 64 && /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+$/.test(local) && !local.startsWith(".") && !local.endsWith(".") && !local.includes("..");
  const labels = domain.split(".");
  const tld = labels[labels.length - 1]!;
  const domainOk =
    labels.length >= 2 &&
    labels.every((l) => l.length > 0 && l.length <= 63 && !l.startsWith("-") && !l.endsWith("-") && /^[a-z0-9-]+$/.test(l)) &&
    tld.length >= 2 &&
    /^[a-z]+$/.test(tld);
  if (!localOk || !domainOk) throw invalid();
  return address;
}

/** Phone::parse: to E.164, numbers without a country code get +47; Norwegian numbers have 8 digits. */
function parsePhone(input: string, country = DEFAULT_PHONE_COUNTRY): string {
  const trimmed = input.trim();
  if (!trimmed) throw error("phone_required", "A phone number is required.", "phone");
  const compact = trimmed.replace(/\(0\)/g, "").replace(/[\s\-.()]/g, "");
  let number: string;
  if (compact.startsWith("00")) number = `+${compact.slice(2)}`;
  else if (compact.startsWith("+")) number = compact;
  else number = `+${country}${compact.startsWith("0") ? compact.slice(1) : compact}`;
  const digits = number.slice(1);
  const wellFormed = digits.length >= 8 && digits.length <= 15 && /^\d+$/.test(digits) && !digits.startsWith("0");
  const fixed = [["47", 8], ["31", 9]] as const;
  const lengthOk = fixed.every(([cc, len]) => !digits.startsWith(cc) || digits.length - cc.length === len);
  if (!wellFormed || !lengthOk) throw error("invalid_phone_format", "The phone number is not valid.", "phone");
  return number;
}

function matchCandidates(clinic: Clinic, input: MatchInput): MatchCandidate[] {
  const quiet = <T>(f: () => T): T | null => {
    try {
      return f();
    } catch {
      return null;
    }
  };
  const email = input.email ? quiet(() => parseEmail(input.email!)) : null;
  const phone = input.phone ? quiet(() => parsePhone(input.phone!)) : null;
  const nid = input.national_id && validNationalId(input.national_id.trim()) ? input.national_id.trim() : null;
  const name = input.name ? quiet(() => parseName(input.name!)) : null;
  if (!email && !phone && !nid && !(name && input.date_of_birth)) {
    throw error("invalid_input", "Give at least an e-mail address, a phone number, a national id, or a name with a date of birth.", "email");
  }
  clinic.requireRole("admin", "customer_support");
  // The demo's persons have no date of birth or national id on record here: e-mail and phone match.
  return clinic.persons
    .map((p) => ({
      patient_person_id: p.id,
      name: p.name,
      reasons: [...(email && p.email === email ? ["email"] : []), ...(phone && p.phone === phone ? ["phone"] : [])],
    }))
    .filter((c) => c.reasons.length > 0);
}

function onboardWalkIn(clinic: Clinic, input: WalkIn): Onboarded {
  const name = parseName(input.name ?? "");
  const email = parseEmail(input.email ?? "");
  const phone = parsePhone(input.phone ?? "");
  const me = clinic.me();
  if (me.role !== "admin" && me.role !== "customer_support") throw error("forbidden", "Only admins and customer support can onboard patients.");
  const known = clinic.persons.find((p) => p.email === email);
  const existing = known && clinic.patients.find((p) => p.person === known);
  if (existing) {
    throw error("patient_already_exists", "Patient with this email already exists in this organization");
  }
  const person = known ?? clinic.addPerson(name, email, phone);
  const now = Date.now();
  const patient = clinic.link(person, now);
  // The clinic's rules: a new person signs privacy and profile sharing, a known one profile sharing.
  const templates = known ? [TEMPLATES[1]!] : [TEMPLATES[0]!, TEMPLATES[1]!];
  const forms = templates.map((t) => clinic.createForm(patient, t, now));
  const at = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    user_id: person.user_id!,
    patient_person_id: person.id,
    patient: { id: patient.id, patient_person_id: person.id, profile_shared: true, organization_id: CLINIC, created_at: at, updated_at: at },
    person: { id: person.id, user_id: person.user_id, name: person.name, date_of_birth: null, blood_type: null, allergies: [], chronic_conditions: [] },
    user_created: !known,
    organization_added: true,
    required_forms: forms.map((f) => ({
      form_id: f.form_id,
      template_id: f.template_id,
      title: f.title,
      type: f.type,
      status: f.status,
      must_sign_before: f.must_sign_before,
      consent_types: f.consent_types,
    })),
  };
}

function attestSignature(clinic: Clinic, formId: number, sha: string): Form {
  const me = clinic.requireRole("customer_support", "admin");
  const presented = sha.trim().toLowerCase();
  if (!presented) {
    throw error("invalid_input", "Name the text that was signed by its SHA-256 (template_sha256 of the form).", "template_sha256");
  }
  if (!/^[0-9a-f]{64}$/.test(presented)) throw error("invalid_input", "template_sha256 must be 64 hexadecimal characters.", "template_sha256");
  const form = clinic.pending(formId);
  if (presented !== form.template_sha256) {
    throw error(
      "form_template_changed",
      "The signature is for another text of this form than the one on record; show the patient the current text and sign again.",
      "template_sha256",
    );
  }
  clinic.signForm(form, "staff_attested", me);
  return form;
}

function withdrawConsent(clinic: Clinic, consentId: number, rawReason: string): Consent {
  clinic.requireRole("customer_support", "admin");
  const reason = rawReason.trim();
  if (!reason) throw error("invalid_input", "Say why the consent is withdrawn.", "reason");
  if ([...reason].length > 500) throw error("invalid_input", "The reason may have at most 500 characters.", "reason");
  const consent = clinic.forms.flatMap((f) => f.consents).find((c) => c.id === consentId);
  if (!consent) throw error("not_found", "consent was not found");
  if (consent.withdrawn_at) throw error("invalid_state_transition", "This consent was already withdrawn.");
  consent.withdrawn_at = new Date().toISOString();
  consent.withdraw_reason = reason;
  return consent;
}

function consentStatus(clinic: Clinic): ConsentStatus {
  const me = clinic.requireRole("customer_support", "admin");
  const open = (personId: number) =>
    clinic.consultations
      .filter((c) => c.patient_person_id === personId && OPEN.includes(c.state))
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id)[0];
  const waiting: PatientWaiting[] = clinic.patients
    .map((p) => {
      const pending = clinic.forms
        .filter((f) => f.patient_id === p.id && f.status === "pending" && f.blocking)
        .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.form_id - b.form_id);
      const booking = open(p.person.id);
      return {
        patient_id: p.id,
        patient_person_id: p.person.id,
        name: p.person.name,
        pending_forms: pending.map((f) => ({ form_id: f.form_id, title: f.title, must_sign_before: f.must_sign_before, created_at: f.created_at })),
        oldest_pending_since: pending[0]?.created_at ?? "",
        next_booking: booking
          ? { consultation_id: booking.id, state: booking.state, created_at: booking.created_at, deadline_at: booking.deadline_at }
          : null,
      };
    })
    .filter((p) => p.pending_forms.length > 0)
    .sort((a, b) => Date.parse(a.oldest_pending_since) - Date.parse(b.oldest_pending_since) || a.patient_id - b.patient_id);
  const byForm = TEMPLATES.map((t) => {
    const of = (status: string) => clinic.forms.filter((f) => f.template_id === t.id && f.status === status).length;
    return { template_id: t.id, title: t.title, pending: of("pending"), signed: of("signed"), declined: of("declined"), superseded: of("superseded") };
  })
    .filter((c) => c.pending + c.signed + c.declined + c.superseded > 0)
    .sort((a, b) => a.title.localeCompare(b.title) || a.template_id - b.template_id);
  return { organization_id: me.organization_id, generated_at: new Date().toISOString(), patients_waiting: waiting, by_form: byForm };
}

function consentTimeline(clinic: Clinic, patientId: number): TimelineEntry[] {
  clinic.requireRole("customer_support", "admin");
  clinic.patient(patientId);
  const entries: TimelineEntry[] = [];
  const add = (at: string | null, event: string, f: Form, consent: Consent | null, detail: string | null) => {
    if (at) entries.push({ at, event, form_id: f.form_id, title: f.title, consent_id: consent?.id ?? null, consent_type: consent?.consent_type ?? null, detail });
  };
  for (const f of clinic.forms.filter((x) => x.patient_id === patientId)) {
    add(f.created_at, "form_created", f, null, `version ${f.template_version}`);
    add(f.signed_at, "form_signed", f, null, f.signed_by);
    add(f.declined_at, "form_declined", f, null, null);
    for (const c of f.consents) {
      add(c.granted_at, "consent_granted", f, c, null);
      add(c.withdrawn_at, "consent_withdrawn", f, c, c.withdraw_reason);
    }
  }
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.form_id - b.form_id || a.event.localeCompare(b.event));
}

// ---------------------------------------------------------------------------------------------
// The administrator: the insurer report (crates/core/src/report.rs) and outcomes (outcomes.rs).

/** What the report export waits for between its first and last progress event, when held. */
const reportGate = { held: false, release: null as (() => void) | null };

function isoDay(s: string, field: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(t) || new Date(t).getUTCDate() !== Number(m[3])) {
    throw error("invalid_input", "Write the date as YYYY-MM-DD, e.g. 2026-01-31.", field);
  }
  return t;
}

function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((sorted.length * p) / 100)) - 1]!;
}

async function reportExport(clinic: Clinic, partner: string, from: string, to: string, format: ReportFormat): Promise<ReportSummary> {
  const name = partner.trim();
  if (!name) throw error("invalid_input", "Choose the partner the report is for.", "partner");
  const start = isoDay(from, "from");
  const end = isoDay(to, "to");
  if (end < start) throw error("invalid_input", "The period ends before it starts.", "to");
  if ((end - start) / DAY > 3 * 366) throw error("invalid_input", "A report covers at most three years; split the period.", "to");
  clinic.me();
  if (name !== PARTNER.name) throw error("not_found", `There is no partner named '${name}'.`, "partner");
  clinic.requireRole("admin");
  // Norwegian local dates; near enough here: the demo's consultations are hours apart.
  const rows = clinic.consultations
    .filter((c) => c.partner_id === PARTNER.id && Date.parse(c.created_at) >= start && Date.parse(c.created_at) < end + DAY)
    .map((c) => clinic.view(c));
  const total = rows.length;
  const progress = (p: ReportProgress) => emit("report-progress", p);
  if (total > 0) await progress({ done: 1, total });
  if (reportGate.held) {
    await new Promise<void>((ok) => (reportGate.release = ok));
    reportGate.held = false;
  }
  await progress({ done: total, total });
  const count = (keys: string[], label: (k: string) => string): Count[] =>
    [...new Set(keys)].sort().map((key) => ({ key, label: label(key), count: keys.filter((k) => k === key).length }));
  const results = rows.map((c) => clinic.results.filter((r) => r.consultation_id === c.id).at(-1)).filter((r) => r !== undefined);
  const started = rows.filter((c) => c.starts_at);
  const ext = format === "csv" ? "csv" : "xlsx";
  const file = `/home/hanne/Downloads/insurer-report-${name}-${from}-${to}.${ext}`;
  return {
    partner: name,
    from,
    to,
    format,
    file,
    summary_file: format === "csv" ? file.replace(/\.csv$/, "-summary.csv") : null,
    consultations: total,
    by_state: count(
      rows.map((c) => c.state),
      (k) => k.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()),
    ),
    by_outcome: count(
      results.map((r) => r.outcome),
      (k) => clinic.outcomes.find((o) => o.code === k)?.label ?? k,
    ),
    by_chapter: count(
      results.map((r) => r.icpc2.chapter),
      (k) => k,
    ),
    waiting_median_seconds: percentile(started.map((c) => c.waiting_seconds), 50),
    waiting_p90_seconds: percentile(started.map((c) => c.waiting_seconds), 90),
    treatment_median_seconds: percentile(rows.flatMap((c) => (c.treatment_seconds === null ? [] : [c.treatment_seconds])), 50),
    treatment_p90_seconds: percentile(rows.flatMap((c) => (c.treatment_seconds === null ? [] : [c.treatment_seconds])), 90),
    deadline_breaches: rows.filter((c) => c.deadline_status === "breached").length,
    generated_at: new Date().toISOString(),
  };
}

/** outcomes::code_for: `Referred to specialist` → `referred_to_specialist`. */
function outcomeCode(label: string): string {
  return fold(label).replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
}

function outcomeAdd(clinic: Clinic, raw: string): Outcome {
  const label = raw.trim();
  if (!label) throw error("invalid_input", "Write the outcome as the doctors should see it.", "label");
  if ([...label].length > 80) throw error("invalid_input", "An outcome may have at most 80 characters.", "label");
  const code = outcomeCode(label);
  if (!/^[a-z]/.test(code)) throw error("invalid_input", "Start the outcome with a letter.", "label");
  if (clinic.me().role !== "admin") throw error("forbidden", "Only administrators may change the list of outcomes.");
  if (clinic.outcomes.some((o) => o.code === code)) throw error("already_exists", `The outcome '${code}' already exists.`, "label");
  const outcome = { code, label, active: true };
  clinic.outcomes.push(outcome);
  return outcome;
}

function outcomesList(clinic: Clinic): Outcome[] {
  clinic.me();
  return [...clinic.outcomes].sort((a, b) => Number(!a.active) - Number(!b.active) || a.label.localeCompare(b.label)).map((o) => ({ ...o }));
}

// Form templates (crates/core/src/forms.rs): the same checks, codes and messages.
const CONSENT_KINDS: ConsentKind[] = [
  { code: "analytics", label: "Analytics" },
  { code: "marketing", label: "Marketing" },
  { code: "profile_sharing", label: "Profile sharing" },
];
const SLUG = /^[a-z][a-z0-9_]*$/;
const TEMPLATE_FORBIDDEN = "Only administrators may write form templates, and only those of their own clinic.";

function templatesList(clinic: Clinic): Template[] {
  clinic.me();
  const visible = clinic.templates.filter((t) => t.organization_id === null || t.organization_id === CLINIC);
  return JSON.parse(JSON.stringify([...visible].sort((a, b) => a.title.localeCompare(b.title) || a.id - b.id))) as Template[];
}

function templateCreate(clinic: Clinic, input: NewTemplate): Template {
  const key = String(input.key ?? "").trim();
  if (!SLUG.test(key)) throw error("invalid_input", "Use lower-case letters, digits and _ , starting with a letter (e.g. privacy_policy).", "key");
  const title = String(input.title ?? "").trim();
  if (!title || [...title].length > 200) throw error("invalid_input", "Give the form a title of at most 200 characters.", "title");
  const type = String(input.form_type ?? "").trim() || "disclaimer";
  if (!SLUG.test(type)) throw error("invalid_input", "Use lower-case letters, digits and _ (e.g. disclaimer).", "form_type");
  const must = (input.must_sign_before ?? "").trim() || null;
  if (must && must !== "first_appointment") throw error("invalid_input", "Use first_appointment, or leave it empty.", "must_sign_before");
  const consents = (input.consent_types ?? []).map((c) => c.trim()).filter(Boolean);
  const unknown = consents.find((c) => !CONSENT_KINDS.some((k) => k.code === c));
  if (unknown) {
    throw error("invalid_input", `'${unknown}' is not a known kind of consent (${CONSENT_KINDS.map((k) => k.code).join(", ")}).`, "consent_types");
  }
  if (clinic.me().role !== "admin") throw error("forbidden", TEMPLATE_FORBIDDEN);
  if (clinic.templates.some((t) => t.organization_id === CLINIC && t.key === key)) {
    throw error("already_exists", `A template '${key}' already exists.`, "key");
  }
  const template: Template = {
    id: Math.max(...clinic.templates.map((t) => t.id)) + 1,
    organization_id: CLINIC,
    key,
    title,
    type,
    consent_types: consents,
    must_sign_before: must,
    versions: [],
  };
  clinic.templates.push(template);
  return JSON.parse(JSON.stringify(template)) as Template;
}

async function templateAddVersion(clinic: Clinic, templateId: number, body: string): Promise<TemplateVersion> {
  if (!body.trim()) throw error("invalid_input", "Write the text the patient will read and sign.", "body");
  if ([...body].length > 20_000) throw error("invalid_input", "The text may have at most 20000 characters.", "body");
  const template = clinic.templates.find((t) => t.id === templateId);
  if (!template) throw error("not_found", "form template was not found");
  if (clinic.me().role !== "admin") throw error("forbidden", TEMPLATE_FORBIDDEN);
  const version: TemplateVersion = {
    id: clinic.nextVersionId++,
    template_id: template.id,
    version: Math.max(0, ...template.versions.map((v) => v.version)) + 1,
    body,
    sha256: await sha256(body),
    published_at: null,
  };
  template.versions.push(version);
  return { ...version };
}

function templatePublish(clinic: Clinic, versionId: number): Published {
  const template = clinic.templates.find((t) => t.versions.some((v) => v.id === versionId));
  const version = template?.versions.find((v) => v.id === versionId);
  if (!template || !version) throw error("not_found", "form template version was not found");
  if (version.published_at) throw error("invalid_state_transition", `Version ${version.version} is already published.`);
  const newest = Math.max(0, ...template.versions.filter((v) => v.published_at).map((v) => v.version));
  if (newest > version.version) {
    throw error("invalid_state_transition", `Version ${newest} is already published; a new text needs a new version.`);
  }
  if (clinic.me().role !== "admin") throw error("forbidden", "Only administrators may publish form templates.");
  const now = new Date().toISOString();
  version.published_at = now;
  let superseded = 0;
  for (const old of clinic.forms.filter((f) => f.template_id === template.id && f.status === "pending" && f.template_version !== version.version)) {
    const fresh: Form = {
      ...old,
      form_id: clinic.nextFormId++,
      template_version: version.version,
      template_sha256: version.sha256,
      created_at: now,
      consents: [],
    };
    clinic.forms.push(fresh);
    old.status = "superseded";
    old.superseded_by = fresh.form_id;
    superseded++;
  }
  return { version: { ...version }, superseded };
}

// Onboarding rules (crates/core/src/automation.rs): the same checks, codes and messages.
const RULES_FORBIDDEN = "Only administrators may change the onboarding rules, and only their own clinic's.";

function copyRule(rule: OnboardingRule): OnboardingRule {
  return JSON.parse(JSON.stringify(rule)) as OnboardingRule;
}

function ruleOf(clinic: Clinic, ruleId: number): OnboardingRule {
  if (clinic.me().role !== "admin") throw error("forbidden", RULES_FORBIDDEN);
  const rule = clinic.rules.find((r) => r.id === ruleId);
  if (!rule) throw error("not_found", "There is no such onboarding rule in your clinic.", "rule_id");
  return rule;
}

function actionOf(clinic: Clinic, actionId: number): { rule: OnboardingRule; index: number } {
  if (clinic.me().role !== "admin") throw error("forbidden", RULES_FORBIDDEN);
  for (const rule of clinic.rules) {
    const index = rule.forms.findIndex((f) => f.action_id === actionId);
    if (index >= 0) return { rule, index };
  }
  throw error("not_found", "This rule does not require that form (any more).", "action_id");
}

function ruleRequireForm(clinic: Clinic, ruleId: number, templateId: number, blocking: boolean): OnboardingRule {
  const rule = ruleOf(clinic, ruleId);
  const template = clinic.templates.find((t) => t.id === templateId && (t.organization_id === null || t.organization_id === CLINIC));
  if (!template) throw error("not_found", "There is no such form template for this clinic.", "template_id");
  if (!template.versions.some((v) => v.published_at)) {
    throw error("invalid_input", `'${template.title}' has no published version yet; publish its text first, or onboarding would skip it.`, "template_id");
  }
  if (rule.forms.some((f) => f.template_id === templateId)) {
    throw error("already_exists", `This rule already requires '${template.title}'.`, "template_id");
  }
  rule.forms.push({
    action_id: clinic.nextActionId++,
    position: Math.max(0, ...rule.forms.map((f) => f.position)) + (rule.welcome_email ? 2 : 1),
    template_id: template.id,
    title: template.title,
    key: template.key,
    blocking,
    published: true,
  });
  return copyRule(rule);
}

function onboardingRuleAdd(clinic: Clinic, rawName: string, appliesTo: AppliesTo): OnboardingRule {
  const name = rawName.trim();
  if (!name || [...name].length > 200) {
    throw error("invalid_input", "Name the rule in at most 200 characters (e.g. New patients sign the privacy policy).", "name");
  }
  if (clinic.me().role !== "admin") throw error("forbidden", RULES_FORBIDDEN);
  const rule: OnboardingRule = {
    id: Math.max(0, ...clinic.rules.map((r) => r.id)) + 1,
    organization_id: CLINIC,
    name,
    applies_to: appliesTo,
    position: Math.max(0, ...clinic.rules.map((r) => r.position)) + 1,
    active: true,
    forms: [],
    welcome_email: false,
  };
  clinic.rules.push(rule);
  return copyRule(rule);
}

function staffMember(clinic: Clinic, m: Staff) {
  return {
    id: m.staff_id,
    login: m.login,
    email: m.email,
    name: m.name,
    role: m.role,
    organization_id: m.organization_id,
    active: !clinic.inactive.has(m.staff_id),
  };
}

// Staff added by an administrator (crates/core/src/staff.rs add_to_own_clinic): the same checks,
// codes and messages.
function staffAdd(clinic: Clinic, input: NewStaffInput) {
  const email = parseEmail(input.email ?? "");
  const name = parseName(input.name ?? "");
  const role = String(input.role ?? "").trim();
  if (!["secretary", "doctor", "customer_support", "admin"].includes(role)) {
    throw error("unknown_role", `Unknown role "${role}"; choose one of secretary, doctor, customer_support, admin.`, "role");
  }
  const password = input.password ?? "";
  const weak = (m: string) => error("weak_password", m, "password");
  if (!password.trim()) throw weak("The password is empty.");
  if ([...password].length < 12) throw weak("The password must have at least 12 characters.");
  if (new Set(password).size < 5) throw weak("The password repeats too few different characters.");
  if (password.toLowerCase().includes(email.split("@")[0]!)) throw weak("The password must not contain the login name.");
  if (clinic.me().role !== "admin") throw error("forbidden", "Only administrators may add staff, and only to their own clinic.");
  if (STAFF.some((m) => m.login === email)) {
    throw error("already_exists", "A login with this e-mail address already exists on this database server.", "email");
  }
  const member = {
    staff_id: Math.max(...STAFF.map((m) => m.staff_id)) + 1,
    login: email,
    email,
    name,
    role,
    organization_id: CLINIC,
    password,
  } as Staff;
  STAFF.push(member);
  return staffMember(clinic, member);
}

// Partners (crates/core/src/referrals.rs create_partner): the same checks, codes and messages.
function newSecret(): string {
  const key = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...key))}`;
}

function partnerAdd(clinic: Clinic, input: PartnerInput): CreatedPartner {
  const name = String(input.name ?? "").trim();
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
    throw error("invalid_input", "A partner name is lower-case letters, digits, '-' and '_' (e.g. pridok).", "name");
  }
  const days = Number(input.deadline_working_days);
  if (!Number.isInteger(days) || days < 1 || days > 60) throw error("invalid_input", "The deadline is 1 to 60 working days.", "deadline_days");
  const given = (input.secret ?? "").trim();
  const secret = given || newSecret();
  if (secret.startsWith("whsec_")) {
    let bytes: string;
    try {
      bytes = atob(secret.slice(6));
    } catch {
      throw error("invalid_input", "A whsec_ secret must be followed by base64.", "secret");
    }
    if (bytes.length < 24) throw error("invalid_input", "The webhook secret is too short; use at least 24 random bytes.", "secret");
  } else if (new TextEncoder().encode(secret).length < 24) {
    throw error("invalid_input", "The webhook secret is too short; use at least 24 random bytes.", "secret");
  }
  if (clinic.me().role !== "admin") throw error("forbidden", "Only administrators may add partners, and only to their own clinic.");
  if (clinic.partners.some((p) => p.name === name)) throw error("already_exists", `A partner '${name}' already exists.`, "name");
  const partner = { id: Math.max(0, ...clinic.partners.map((p) => p.id)) + 1, name, deadline_working_days: days, is_test_partner: Boolean(input.is_test_partner), secret };
  clinic.partners.push(partner);
  return {
    partner: {
      id: partner.id,
      name,
      organization_id: 10 + partner.id,
      clinic_id: CLINIC,
      is_test_partner: partner.is_test_partner,
      deadline_working_days: days,
    },
    secret,
  };
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
    case "account_directory":
      // No Clerk key in the demo: patient accounts go to the local account directory.
      return "local";
    case "match_candidates":
      return matchCandidates(clinic, args.input as MatchInput);
    case "onboard_walk_in": {
      const done = onboardWalkIn(clinic, args.input as WalkIn);
      // As the core does: the staff member's half-filled form is done with.
      clinic.drafts.delete("onboarding:0");
      return done;
    }
    case "patient_forms": {
      clinic.requireRole("customer_support", "admin");
      const patient = clinic.patient(Number(args.patientId));
      return clinic.forms.filter((f) => f.patient_id === patient.id);
    }
    case "form_text": {
      clinic.requireRole("customer_support", "admin");
      const form = clinic.form(Number(args.formId));
      const template = TEMPLATES.find((t) => t.id === form.template_id)!;
      return {
        form_id: form.form_id,
        title: form.title,
        template_version: form.template_version,
        body: template.body,
        template_sha256: form.template_sha256,
      } satisfies FormText;
    }
    case "form_attest_signature":
      return attestSignature(clinic, Number(args.formId), String(args.templateSha256 ?? ""));
    case "form_decline": {
      clinic.requireRole("customer_support", "admin");
      const form = clinic.pending(Number(args.formId));
      form.status = "declined";
      form.declined_at = new Date().toISOString();
      return form;
    }
    case "consent_withdraw":
      return withdrawConsent(clinic, Number(args.consentId), String(args.reason ?? ""));
    case "consent_status":
      return consentStatus(clinic);
    case "consent_timeline":
      return consentTimeline(clinic, Number(args.patientId));
    case "partners":
      clinic.me();
      return clinic.partners.map((p) => ({ id: p.id, name: p.name })).sort((a, b) => a.name.localeCompare(b.name)) satisfies PartnerOption[];
    case "partner_add":
      return partnerAdd(clinic, (args.partner ?? {}) as PartnerInput);
    case "report_export":
      return reportExport(clinic, String(args.partner ?? ""), String(args.from ?? ""), String(args.to ?? ""), args.format as ReportFormat);
    case "outcomes_list":
      return outcomesList(clinic);
    case "outcome_add":
      return outcomeAdd(clinic, String(args.label ?? ""));
    case "outcome_set_active": {
      if (clinic.me().role !== "admin") throw error("forbidden", "Only administrators may change the list of outcomes.");
      const outcome = clinic.outcomes.find((o) => o.code === String(args.code ?? "").trim());
      if (!outcome) throw error("not_found", "There is no such outcome.", "code");
      outcome.active = Boolean(args.active);
      return { ...outcome };
    }
    case "staff_list":
      clinic.me();
      return STAFF.map((m) => staffMember(clinic, m));
    case "staff_set_active": {
      const me = clinic.me();
      const staffId = Number(args.staffId);
      const active = Boolean(args.active);
      if (!active && staffId === me.staff_id) throw error("invalid_input", "You cannot deactivate your own login; another administrator can.", "staff_id");
      if (me.role !== "admin") throw error("forbidden", "Only administrators may deactivate or reactivate staff, and only their own clinic's.");
      const member = STAFF.find((m) => m.staff_id === staffId);
      if (!member) throw error("not_found", "There is no such staff member in your clinic.", "staff_id");
      if (active) clinic.inactive.delete(staffId);
      else clinic.inactive.add(staffId);
      return staffMember(clinic, member);
    }
    case "staff_add":
      return staffAdd(clinic, args.input as NewStaffInput);
    case "webhook_deliveries":
      if (clinic.me().role !== "admin") throw error("forbidden", "Your role is not allowed to do this.");
      return [];
    case "audit_recent": {
      if (clinic.me().role !== "admin") throw error("forbidden", "Only administrators read the audit log.");
      const now = Date.now();
      return [3, 2, 1].map((id) => ({
        id,
        occurred_at: new Date(now - (4 - id) * 60_000).toISOString(),
        actor: "ola.brekke@demo.digimed.test",
        acting_for: null,
        action: "CREATE",
        entity_type: "patients",
        entity_id: String(10 + id),
        changes: "{}",
      }));
    }
    case "form_templates":
      return templatesList(clinic);
    case "consent_kinds":
      clinic.me();
      return CONSENT_KINDS.map((k) => ({ ...k }));
    case "form_template_create":
      return templateCreate(clinic, (args.template ?? {}) as NewTemplate);
    case "form_template_add_version":
      return templateAddVersion(clinic, Number(args.templateId), String(args.body ?? ""));
    case "form_template_publish":
      return templatePublish(clinic, Number(args.versionId));
    case "onboarding_rules":
      clinic.me();
      return clinic.rules.map(copyRule);
    case "onboarding_rule_add":
      return onboardingRuleAdd(clinic, String(args.name ?? ""), args.appliesTo as AppliesTo);
    case "rule_require_form":
      return ruleRequireForm(clinic, Number(args.ruleId), Number(args.templateId), Boolean(args.blocking));
    case "rule_form_set_blocking": {
      const { rule, index } = actionOf(clinic, Number(args.actionId));
      rule.forms[index]!.blocking = Boolean(args.blocking);
      return copyRule(rule);
    }
    case "rule_form_remove": {
      const { rule, index } = actionOf(clinic, Number(args.actionId));
      rule.forms.splice(index, 1);
      return copyRule(rule);
    }
    case "draft_save": {
      clinic.me();
      const kind = args.kind as DraftKind;
      const subject = Number(args.subjectId);
      const key = `${kind}:${subject}`;
      const now = new Date().toISOString();
      const draft = { kind, subject_id: subject, payload: args.payload, created_at: clinic.drafts.get(key)?.created_at ?? now, updated_at: now };
      clinic.drafts.set(key, draft);
      return { kind, subject_id: subject, created_at: draft.created_at, updated_at: now } satisfies DraftInfo;
    }
    case "draft_load": {
      clinic.me();
      const draft = clinic.drafts.get(`${String(args.kind)}:${Number(args.subjectId)}`);
      return draft ? ({ kind: draft.kind, subject_id: draft.subject_id, payload: draft.payload, updated_at: draft.updated_at } satisfies DraftContent) : null;
    }
    case "draft_list":
      clinic.me();
      return [...clinic.drafts.values()]
        .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
        .map(({ kind, subject_id, created_at, updated_at }) => ({ kind, subject_id, created_at, updated_at }) satisfies DraftInfo);
    case "draft_discard":
      clinic.me();
      return clinic.drafts.delete(`${String(args.kind)}:${Number(args.subjectId)}`);
    case "audit_verify":
      if (clinic.me().role !== "admin") throw error("forbidden", "Your role is not allowed to do this.");
      return { rows: 3, first_broken_id: null, problem: null };
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
        setTimeout(async () => {
          try {
            await clinic.ready;
            resolve(await handle(clinic, cmd, args));
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
    forms: (patientId) => clinic.forms.filter((f) => f.patient_id === patientId),
    patients: () => clinic.patients.map((p) => ({ id: p.id, patient_person_id: p.person.id, name: p.person.name })),
    outcomes: () => clinic.outcomes.map((o) => ({ ...o })),
    templates: () => JSON.parse(JSON.stringify(clinic.templates)) as Template[],
    rules: () => JSON.parse(JSON.stringify(clinic.rules)) as OnboardingRule[],
    partners: () => clinic.partners.map((p) => ({ ...p })),
    holdReport: () => {
      reportGate.held = true;
    },
    releaseReport: () => {
      reportGate.release?.();
      reportGate.release = null;
    },
  };
}
