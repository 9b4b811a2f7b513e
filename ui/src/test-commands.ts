// Test-only: a complete stand-in for the generated bindings, for Vitest component tests.
//
//   vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
//   import { commands, events } from "../bindings";
//   const mocks = vi.mocked(commands);
//
// Every command is a `vi.fn()` with a default answer: an empty list, `null`, `false`, or, for a
// command whose answer a test must choose (a sign-in, a saved form), an error naming the command.
// Each test overrides what it needs; `mockReset()` brings the default answer back.
import { vi, type Mock } from "vitest";
import type { commands, events, PatientCard } from "./bindings";

type Commands = typeof commands;
type Answer<K extends keyof Commands> = Awaited<ReturnType<Commands[K]>>;

function ok<T>(data: T) {
  return { status: "ok" as const, data };
}

/** The answer of a command no test should reach without choosing its answer. */
function unanswered(name: keyof Commands) {
  return { status: "error" as const, error: { code: "internal" as const, message: `commands.${name} has no answer in this test` } };
}

const DEFAULTS: { [K in keyof Commands]: Answer<K> } = {
  appStatus: { default_server: null, demo: false, clerk: "configured", version: "0.0.0-test" },
  rememberedPassword: ok(false),
  signIn: unanswered("signIn"),
  signOut: ok(null),
  queueList: ok([]),
  consultationGet: unanswered("consultationGet"),
  pickNext: ok(null),
  pick: unanswered("pick"),
  assign: unanswered("assign"),
  cancel: unanswered("cancel"),
  start: unanswered("start"),
  meetingStatus: ok({ provider: "jitsi", demo: false, problem: null }),
  meetingLinks: unanswered("meetingLinks"),
  meetingJoin: unanswered("meetingJoin"),
  completeWithResult: unanswered("completeWithResult"),
  resultRead: ok([]),
  resultAmend: unanswered("resultAmend"),
  consultationHistory: ok([]),
  bookFollowUp: unanswered("bookFollowUp"),
  icpc2Search: ok([]),
  doctors: ok([]),
  screenings: ok([]),
  watchQueue: ok(null),
  matchCandidates: ok([]),
  onboardWalkIn: unanswered("onboardWalkIn"),
  accountDirectory: ok("clerk"),
  patientForms: ok([]),
  formText: unanswered("formText"),
  formAttestSignature: unanswered("formAttestSignature"),
  formDecline: unanswered("formDecline"),
  consentWithdraw: unanswered("consentWithdraw"),
  consentStatus: ok({ organization_id: 1, generated_at: "2026-11-22T10:00:00Z", patients_waiting: [], by_form: [] }),
  consentTimeline: ok([]),
  patientCard: unanswered("patientCard"),
  patientProfileEdit: unanswered("patientProfileEdit"),
  partners: ok([]),
  reportExport: unanswered("reportExport"),
  outcomesList: ok([]),
  outcomeAdd: unanswered("outcomeAdd"),
  outcomeSetActive: unanswered("outcomeSetActive"),
  staffList: ok([]),
  webhookDeliveries: ok([]),
  crmSyncs: ok([]),
  auditRecent: ok([]),
  auditVerify: ok({ rows: 0, first_broken_id: null, problem: null }),
  partnerPrices: ok([]),
  partnerPriceSet: unanswered("partnerPriceSet"),
  billing: unanswered("billing"),
  orderDiscountSet: unanswered("orderDiscountSet"),
  formTemplates: ok([]),
  consentKinds: ok([]),
  formTemplateCreate: unanswered("formTemplateCreate"),
  formTemplateAddVersion: unanswered("formTemplateAddVersion"),
  formTemplatePublish: unanswered("formTemplatePublish"),
  onboardingRules: ok([]),
  onboardingRuleAdd: unanswered("onboardingRuleAdd"),
  ruleRequireForm: unanswered("ruleRequireForm"),
  ruleFormSetBlocking: unanswered("ruleFormSetBlocking"),
  ruleFormRemove: unanswered("ruleFormRemove"),
  ruleSetWelcomeEmail: unanswered("ruleSetWelcomeEmail"),
  messagesList: ok([]),
  messageResendJoinLink: unanswered("messageResendJoinLink"),
  joinLinkWarnings: ok([]),
  partnerAdd: unanswered("partnerAdd"),
  staffSetActive: unanswered("staffSetActive"),
  staffAdd: unanswered("staffAdd"),
  workstationEnroll: unanswered("workstationEnroll"),
  workstationsList: ok([]),
  workstationRevoke: unanswered("workstationRevoke"),
  workstationEnrolled: ok(true),
  enrollmentOpen: unanswered("enrollmentOpen"),
  enrollmentComplete: unanswered("enrollmentComplete"),
  draftSave: ok({ kind: "consultation_result", subject_id: 0, created_at: "2026-11-22T10:00:00Z", updated_at: "2026-11-22T10:00:00Z" }),
  draftLoad: ok(null),
  draftList: ok([]),
  draftDiscard: ok(false),
  screeningList: ok([]),
  referralFields: ok([]),
  referralScreen: unanswered("referralScreen"),
  referralScreenings: ok([]),
  referralBook: unanswered("referralBook"),
  referralDecline: unanswered("referralDecline"),
  consultationBook: unanswered("consultationBook"),
  partnerSetBookOnArrival: unanswered("partnerSetBookOnArrival"),
  reviewsSummary: ok({ answered: 0, unanswered: 0, average: null, by_doctor: [], by_partner: [], latest_comments: [] }),
  preferenceTokenRotate: unanswered("preferenceTokenRotate"),
  patientSetMessageLanguage: unanswered("patientSetMessageLanguage"),
  faxInbox: ok([]),
  faxOpen: unanswered("faxOpen"),
  faxComplete: unanswered("faxComplete"),
  faxDiscard: unanswered("faxDiscard"),
  leadsList: ok([]),
  leadCheck: unanswered("leadCheck"),
  leadConvert: unanswered("leadConvert"),
};

export type MockCommands = { [K in keyof Commands]: Mock<Commands[K]> };

/** Every command of the bindings as a `vi.fn()` answering its default (a fresh copy each call). */
export function mockCommands(): MockCommands {
  const entries = Object.entries(DEFAULTS).map(([name, answer]) => [name, vi.fn(() => Promise.resolve(structuredClone(answer)))]);
  return Object.fromEntries(entries) as MockCommands;
}

type Events = typeof events;

/** Every event of the bindings; `listen` resolves to an unlisten function, as Tauri's does. */
export function mockEvents(): Events {
  const event = () =>
    Object.assign(vi.fn(), {
      listen: vi.fn(() => Promise.resolve(() => undefined)),
      once: vi.fn(() => Promise.resolve(() => undefined)),
      emit: vi.fn(() => Promise.resolve()),
      emitTo: vi.fn(() => Promise.resolve()),
    });
  return { queueChanged: event(), reportProgress: event() };
}

/** The module `vi.mock` puts in place of `bindings.ts`: its commands and events, all mocked. */
export function mockBindings(): { commands: MockCommands; events: Events } {
  return { commands: mockCommands(), events: mockEvents() };
}

/** A patient card as the core answers it, for tests to adjust. */
export function aPatientCard(overrides: Partial<PatientCard> = {}): PatientCard {
  return {
    person_id: 81,
    patient_id: 100,
    name: "Kari Nordmann",
    status: "active",
    email: "kari@example.com",
    entry_point: "walk_in",
    profile_origin: true,
    profile_shared: false,
    source_partner: null,
    registered_at: "2026-11-22T10:00:00Z",
    contact: {
      date_of_birth: "1980-02-03",
      phone: "+4791234567",
      national_id: "******12345",
      national_id_revealed: false,
      emergency_contact_name: null,
      emergency_contact_phone: null,
    },
    contact_withheld: null,
    profile: { blood_type: "A+", allergies: ["Penicillin"], chronic_conditions: [], insurance_entries: [] },
    profile_withheld: null,
    may_edit_profile: true,
    language: "nb",
    may_set_language: false,
    consultations: [],
    forms: [],
    messages: [],
    ...overrides,
  };
}
