import { Fragment, type ComponentChildren, type Ref } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import {
  commands,
  type AppRole,
  type CardConsultation,
  type Form,
  type InsuranceEntryFields,
  type PatientCard as Card,
  type ProfileEdit,
  type ProfileSaved,
  type StaffSession,
  type Withheld,
} from "../bindings";
import { DeadlineBadge, StateBadge } from "../components/Badges";
import { BookingDialog, bookedMessage } from "../components/BookingDialog";
import { FieldError } from "../components/FieldError";
import { OpenPatientCard, PatientCardButton } from "../components/PatientCardButton";
import { MessageList } from "../components/MessageList";
import { PatientForms } from "../components/PatientForms";
import { MessageLanguageSection } from "../components/MessageLanguageSection";
import { PreferenceLinkSection } from "../components/PreferenceLinkSection";
import { ResultRow, ResultToggle } from "../components/ResultView";
import { describeError, type AppError } from "../errors";
import { useI18n, type MessageKey } from "../i18n";
import { formatDate, formatDateTime } from "../i18n/format";
import { useCommand, useLatestRead } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

/** The roles that record paper signatures and withdrawals on the card's forms (the core decides). */
const FORM_ACTORS: readonly AppRole[] = ["customer_support", "admin"];
/** The roles that book a consultation for a known patient (the core decides). */
const BOOKERS: readonly AppRole[] = ["secretary", "customer_support", "admin"];

/**
 * Shows the patient card over the current screen when a `PatientCardButton` asks for it. The
 * screen stays mounted (hidden) behind the card, so Back returns to it as it was, with the focus
 * on the button that opened the card. Another screen chosen in the navigation closes the card.
 */
export function PatientCardHost(props: { session: StaffSession; screen: string | null; children: ComponentChildren }) {
  // The card belongs to the screen it was opened on: on another screen it is not shown, from the
  // first moment (so that screen's heading can take the focus).
  const [opened, setOpened] = useState<{ personId: number; screen: string | null } | null>(null);
  const personId = opened && opened.screen === props.screen ? opened.personId : null;
  const opener = useRef<HTMLElement | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  const { screen } = props;
  const open = useCallback(
    (id: number) => {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      setOpened({ personId: id, screen });
    },
    [screen],
  );

  // Coming back to that screen later shows the screen, not the card.
  useEffect(() => setOpened(null), [screen]);

  useEffect(() => {
    if (personId !== null) heading.current?.focus();
  }, [personId]);

  function back() {
    setOpened(null);
    const to = opener.current;
    opener.current = null;
    // The screen behind is shown again first; then the focus goes back where the person was.
    requestAnimationFrame(() => {
      if (to?.isConnected) to.focus();
    });
  }

  return (
    <OpenPatientCard.Provider value={open}>
      <div hidden={personId !== null}>{props.children}</div>
      {personId !== null && (
        <PatientCard key={personId} personId={personId} session={props.session} headingRef={heading} onBack={back} />
      )}
    </OpenPatientCard.Provider>
  );
}

/**
 * The contact details to call a patient by (phone, e-mail), where a screen needs them beside its
 * own work, e.g. the screening panel: the same audited card read, and a way to the whole card.
 */
export function PatientContact(props: { personId: number; idPrefix: string }) {
  const { t } = useI18n();
  const [card, setCard] = useState<Card | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const read = useLatestRead();

  useEffect(() => {
    setCard(null);
    setError(null);
    read(commands.patientCard(props.personId, false), { ok: setCard, failed: setError });
  }, [read, props.personId]);

  const none = t("card.noneRecorded");
  const id = (name: string) => `${props.idPrefix}-${name}`;
  if (error) {
    return (
      <div class="alert alert-error" role="alert">
        {describeError(error, t)}
      </div>
    );
  }
  if (!card) return <p class="muted">{t("common.loading")}</p>;
  const phone = card.contact?.phone;
  return (
    <>
      <dl class="facts">
        {card.contact && (
          <>
            <dt>{t("card.phone")}</dt>
            <dd id={id("phone")}>{phone ? <a href={`tel:${phone.replace(/\s+/g, "")}`}>{phone}</a> : <span class="muted">{none}</span>}</dd>
          </>
        )}
        <dt>{t("card.email")}</dt>
        <dd id={id("email")}>{orNone(card.email, none)}</dd>
      </dl>
      {card.contact_withheld && <p class="withheld">{t("screening.contactWithheld")}</p>}
      <PatientCardButton personId={card.person_id} name={card.name} id={id("card")} />
    </>
  );
}

/** A patient's card: contact details, the health profile, registration, consultations and forms. */
export function PatientCard(props: {
  personId: number;
  session: StaffSession;
  headingRef?: Ref<HTMLHeadingElement>;
  onBack: () => void;
}) {
  const { t } = useI18n();
  const [card, setCard] = useState<Card | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [editing, setEditing] = useState(false);
  const [notice, setNotice] = useState<MessageKey | null>(null);
  const [booking, setBooking] = useState(false);
  const [booked, setBooked] = useState<string | null>(null);
  const reveal = useCommand();
  const read = useLatestRead();

  const load = useCallback(() => {
    read(commands.patientCard(props.personId, false), {
      ok: (data) => {
        setCard(data);
        setError(null);
      },
      failed: setError,
    });
  }, [read, props.personId]);

  useEffect(load, [load]);

  function showNationalId() {
    if (reveal.busy) return;
    reveal.run(commands.patientCard(props.personId, true), {
      ok: (data) => {
        setCard(data);
        document.getElementById("card-national-id")?.focus();
      },
    });
  }

  function saved(result: ProfileSaved) {
    setEditing(false);
    setNotice(result.changed.length > 0 ? "card.saved" : "card.nothingChanged");
    load();
    requestAnimationFrame(() => document.getElementById("card-edit-profile")?.focus());
  }

  return (
    <section class="screen screen-wide patient-card" aria-labelledby="card-title">
      <div class="screen-head">
        <button type="button" class="button button-secondary" id="card-back" onClick={props.onBack}>
          ← {t("card.back")}
        </button>
      </div>
      <h1 id="card-title" tabIndex={-1} ref={props.headingRef}>
        {card ? card.name : t("card.title")}
      </h1>
      <p class="muted">
        {t("card.subtitle", { id: props.personId })}
        {card?.status === "draft" ? ` · ${t("card.draft")}` : card?.status === "discarded" ? ` · ${t("card.discarded")}` : ""}
      </p>
      <ErrorAlert error={error} />
      {card === null && !error && <p class="muted">{t("common.loading")}</p>}
      {card && BOOKERS.includes(props.session.role) && (
        <div class="button-row card-actions">
          <button type="button" class="button button-primary" id="card-book" onClick={() => setBooking(true)}>
            {t("card.book")}
          </button>
        </div>
      )}
      {booked && (
        <p class="alert alert-success" role="status" id="card-booked">
          {booked}
        </p>
      )}
      {card && booking && (
        <BookingDialog
          subject={{ kind: "patient", patientPersonId: card.person_id, patientName: card.name }}
          onClose={() => setBooking(false)}
          onBooked={(c) => {
            setBooking(false);
            setBooked(bookedMessage(c, t));
            load();
          }}
        />
      )}
      {card && (
        <div class="card-grid">
          <ContactSection card={card} revealing={reveal.busy} revealError={reveal.error} onReveal={showNationalId} />
          <section class="card card-section" aria-labelledby="card-profile-title">
            <div class="panel-head">
              <h2 id="card-profile-title">{t("card.profileTitle")}</h2>
              {card.may_edit_profile && !editing && (
                <button
                  type="button"
                  class="button button-secondary"
                  id="card-edit-profile"
                  onClick={() => {
                    setNotice(null);
                    setEditing(true);
                  }}
                >
                  {t("card.editProfile")}
                </button>
              )}
            </div>
            {notice && (
              <p class="alert alert-success" role="status">
                {t(notice)}
              </p>
            )}
            <ProfileFacts card={card} />
          </section>
          {editing && (
            <section class="card card-section card-wide" aria-labelledby="card-edit-title">
              <h2 id="card-edit-title">{t("card.editProfile")}</h2>
              <ProfileForm card={card} onSaved={saved} onCancel={() => setEditing(false)} />
            </section>
          )}
          <RegistrationSection card={card} />
          <ConsultationsSection entries={card.consultations} />
          <section class="card card-section card-wide" aria-labelledby="card-forms-title">
            <h2 id="card-forms-title">{t("card.formsTitle")}</h2>
            {FORM_ACTORS.includes(props.session.role) ? (
              <PatientForms patientId={card.patient_id} name={card.name} onChanged={load} />
            ) : (
              <FormsSummary forms={card.forms} />
            )}
          </section>
          <div class="card card-section card-wide table-section">
            <MessageList patientPersonId={card.person_id} />
          </div>
          <MessageLanguageSection
            personId={card.person_id}
            language={card.language}
            maySet={card.may_set_language}
            onChanged={load}
          />
          <PreferenceLinkSection personId={card.person_id} role={props.session.role} />
        </div>
      )}
    </section>
  );
}

function WithheldNote(props: { reason: Withheld; id: string }) {
  const { t } = useI18n();
  return (
    <p class="withheld" id={props.id}>
      {t(`card.withheld.${props.reason}`)}
    </p>
  );
}

function orNone(value: string | null | undefined, none: string) {
  return value ? value : <span class="muted">{none}</span>;
}

function ContactSection(props: { card: Card; revealing: boolean; revealError: AppError | null; onReveal: () => void }) {
  const { t, locale } = useI18n();
  const { card } = props;
  const c = card.contact;
  const none = t("card.noneRecorded");
  return (
    <section class="card card-section" aria-labelledby="card-contact-title">
      <h2 id="card-contact-title">{t("card.contactTitle")}</h2>
      <dl class="facts">
        <dt>{t("card.email")}</dt>
        <dd id="card-email">{orNone(card.email, none)}</dd>
        {c && (
          <>
            <dt>{t("card.phone")}</dt>
            <dd id="card-phone">{orNone(c.phone, none)}</dd>
            <dt>{t("card.dateOfBirth")}</dt>
            <dd id="card-date-of-birth">{c.date_of_birth ? formatDate(c.date_of_birth, locale, "UTC") : <span class="muted">{none}</span>}</dd>
            <dt>{t("card.nationalId")}</dt>
            <dd>
              <span id="card-national-id" class={c.national_id ? "national-id" : undefined} tabIndex={-1}>
                {orNone(c.national_id, none)}
              </span>{" "}
              {c.national_id && !c.national_id_revealed && (
                <button
                  type="button"
                  class="button button-link"
                  id="card-reveal"
                  aria-label={t("card.revealLabel")}
                  aria-describedby="card-national-id-hint"
                  aria-disabled={props.revealing}
                  onClick={props.onReveal}
                >
                  {props.revealing ? t("card.revealing") : t("card.reveal")}
                </button>
              )}
              {c.national_id && (
                <p class="hint" id="card-national-id-hint">
                  {t(c.national_id_revealed ? "card.revealedHint" : "card.maskedHint")}
                </p>
              )}
            </dd>
            <dt>{t("card.emergencyContact")}</dt>
            <dd id="card-emergency-contact">
              {c.emergency_contact_name || c.emergency_contact_phone ? (
                [c.emergency_contact_name, c.emergency_contact_phone].filter(Boolean).join(", ")
              ) : (
                <span class="muted">{none}</span>
              )}
            </dd>
          </>
        )}
      </dl>
      {card.contact_withheld && <WithheldNote reason={card.contact_withheld} id="card-contact-withheld" />}
      <ErrorAlert error={props.revealError} />
    </section>
  );
}

function ProfileFacts(props: { card: Card }) {
  const { t } = useI18n();
  const p = props.card.profile;
  if (!p) return <WithheldNote reason={props.card.profile_withheld ?? "not_for_role"} id="card-profile-withheld" />;
  const none = t("card.noneRecorded");
  const list = (items: string[], id: string) =>
    items.length === 0 ? (
      <span class="muted">{none}</span>
    ) : (
      <ul class="plain-list" id={id}>
        {items.map((i) => (
          <li key={i}>{i}</li>
        ))}
      </ul>
    );
  return (
    <dl class="facts">
      <dt>{t("card.bloodType")}</dt>
      <dd id="card-blood-type">{orNone(p.blood_type, none)}</dd>
      <dt>{t("card.allergies")}</dt>
      <dd>{list(p.allergies, "card-allergies")}</dd>
      <dt>{t("card.chronicConditions")}</dt>
      <dd>{list(p.chronic_conditions, "card-chronic-conditions")}</dd>
      <dt>{t("card.insurance")}</dt>
      <dd>
        {list(
          p.insurance_entries.map((e) => `${e.insurer} · ${e.policy_number}`),
          "card-insurance",
        )}
      </dd>
    </dl>
  );
}

function RegistrationSection(props: { card: Card }) {
  const { t, locale } = useI18n();
  const { card } = props;
  const origin: MessageKey = card.profile_origin
    ? "card.origin.here"
    : card.profile_shared
      ? "card.origin.shared"
      : "card.origin.notShared";
  return (
    <section class="card card-section" aria-labelledby="card-registration-title">
      <h2 id="card-registration-title">{t("card.registrationTitle")}</h2>
      <dl class="facts">
        <dt>{t("card.entryPoint")}</dt>
        <dd id="card-entry-point">{t(`entryPoint.${card.entry_point}`)}</dd>
        <dt>{t("card.profileOrigin")}</dt>
        <dd>{t(origin)}</dd>
        <dt>{t("card.sourcePartner")}</dt>
        <dd>{card.source_partner ?? <span class="muted">{t("common.none")}</span>}</dd>
        <dt>{t("card.registeredAt")}</dt>
        <dd>{formatDateTime(card.registered_at, locale)}</dd>
      </dl>
    </section>
  );
}

function ConsultationsSection(props: { entries: CardConsultation[] }) {
  const { t, locale } = useI18n();
  // The one result opened below its row, read (and audited) only when asked for.
  const [shown, setShown] = useState<number | null>(null);
  const when = (v: string | null) => (v ? formatDateTime(v, locale) : "—");
  return (
    <section class="card card-section card-wide table-section" aria-labelledby="card-consultations-title">
      <h2 id="card-consultations-title">{t("card.consultationsTitle", { count: props.entries.length })}</h2>
      {props.entries.length === 0 ? (
        <p class="muted">{t("card.noConsultations")}</p>
      ) : (
        <table class="data-table card-table" aria-labelledby="card-consultations-title">
          <thead>
            <tr>
              <th scope="col">{t("card.colConsultation")}</th>
              <th scope="col">{t("queue.colState")}</th>
              <th scope="col">{t("card.colCreated")}</th>
              <th scope="col">{t("card.colDeadline")}</th>
              <th scope="col">{t("card.colTimes")}</th>
              <th scope="col">{t("queue.colDoctor")}</th>
              <th scope="col">{t("card.colResult")}</th>
            </tr>
          </thead>
          <tbody>
            {props.entries.map(({ consultation: c, result_filed, result_readable }) => (
              <Fragment key={c.id}>
                <tr id={`card-consultation-${c.id}`}>
                  <td>
                    #{c.id}
                    {c.partner_name && <p class="hint">{c.partner_name}</p>}
                  </td>
                  <td>
                    <StateBadge state={c.state} />
                    {c.cancelled_at && (
                      <p class="hint">
                        {t("card.cancelled", { when: formatDateTime(c.cancelled_at, locale), reason: c.cancel_reason ?? "" })}
                      </p>
                    )}
                  </td>
                  <td>{when(c.created_at)}</td>
                  <td>
                    {when(c.deadline_at)} <DeadlineBadge status={c.deadline_status} />
                  </td>
                  <td>
                    {c.starts_at ? when(c.starts_at) : "—"}
                    {c.ends_at && (
                      <>
                        <br />– {when(c.ends_at)}
                      </>
                    )}
                  </td>
                  <td>
                    {c.doctor_name ?? <span class="muted">{t("queue.unassigned")}</span>}
                    {c.assigned_at && <p class="hint">{t("card.assignedAt", { when: formatDateTime(c.assigned_at, locale) })}</p>}
                  </td>
                  <td>
                    {result_filed ? t("card.resultFiled") : <span class="muted">{t("card.resultNone")}</span>}
                    {result_filed && result_readable && (
                      <p>
                        <ResultToggle consultationId={c.id} shown={shown} onToggle={setShown} buttonClass="button button-link" />
                      </p>
                    )}
                  </td>
                </tr>
                {shown === c.id && <ResultRow consultationId={c.id} colSpan={7} />}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function FormsSummary(props: { forms: Form[] }) {
  const { t, locale } = useI18n();
  if (props.forms.length === 0) return <p class="muted">{t("forms.none")}</p>;
  return (
    <ul class="form-list">
      {props.forms.map((f) => (
        <li key={f.form_id} class={`form-item form-${f.status}`}>
          <div class="form-item-head">
            <span class="form-title">{f.title}</span>
            <span class={`badge badge-form-${f.status}`}>{t(`forms.status.${f.status}` as "forms.status.pending")}</span>
          </div>
          {f.signed_at && <p class="hint">{t("card.formSignedAt", { when: formatDateTime(f.signed_at, locale) })}</p>}
        </li>
      ))}
    </ul>
  );
}

const BLOOD_TYPES = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"] as const;

type TextField = "date_of_birth" | "blood_type" | "allergies" | "chronic_conditions" | "emergency_contact_name" | "emergency_contact_phone";
const FIELDS: readonly string[] = [
  "date_of_birth",
  "blood_type",
  "allergies",
  "chronic_conditions",
  "insurance_entries",
  "emergency_contact_name",
  "emergency_contact_phone",
];

/** The profile as the form holds it. */
interface Values {
  date_of_birth: string;
  blood_type: string;
  allergies: string;
  chronic_conditions: string;
  insurance: InsuranceEntryFields[];
  emergency_contact_name: string;
  emergency_contact_phone: string;
}

export function valuesOf(card: Card): Values {
  return {
    date_of_birth: card.contact?.date_of_birth ?? "",
    blood_type: card.profile?.blood_type ?? "",
    allergies: (card.profile?.allergies ?? []).join("\n"),
    chronic_conditions: (card.profile?.chronic_conditions ?? []).join("\n"),
    insurance: (card.profile?.insurance_entries ?? []).map((e) => ({ ...e })),
    emergency_contact_name: card.contact?.emergency_contact_name ?? "",
    emergency_contact_phone: card.contact?.emergency_contact_phone ?? "",
  };
}

const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The edit the core is sent: only what the person changed (a field left out keeps its value). */
export function editOf(before: Values, now: Values): ProfileEdit {
  const text = (k: "date_of_birth" | "blood_type" | "emergency_contact_name" | "emergency_contact_phone") =>
    now[k].trim() === before[k].trim() ? null : now[k];
  const list = (k: "allergies" | "chronic_conditions") => (same(lines(now[k]), lines(before[k])) ? null : lines(now[k]));
  const insurance = now.insurance.filter((e) => e.insurer.trim() !== "" || e.policy_number.trim() !== "");
  return {
    date_of_birth: text("date_of_birth"),
    blood_type: text("blood_type"),
    allergies: list("allergies"),
    chronic_conditions: list("chronic_conditions"),
    insurance_entries: same(insurance, before.insurance) ? null : insurance,
    emergency_contact_name: text("emergency_contact_name"),
    emergency_contact_phone: text("emergency_contact_phone"),
  };
}

function ProfileForm(props: { card: Card; onSaved: (saved: ProfileSaved) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [before] = useState(() => valuesOf(props.card));
  const [values, setValues] = useState<Values>(() => valuesOf(props.card));
  const { busy, run, fieldError, generalError } = useCommand();

  useEffect(() => {
    document.getElementById("profile-date_of_birth")?.focus();
  }, []);

  // The core's sentence names what is wrong in English; other languages say what the field needs.
  const message = (field: string) => {
    const m = fieldError(field);
    if (!m) return null;
    return t("error.showCoreMessages") === "yes" ? m : t(`card.fieldError.${field}` as "card.fieldError.blood_type");
  };
  const set = (k: TextField, v: string) => setValues((old) => ({ ...old, [k]: v }));
  const setEntry = (i: number, k: keyof InsuranceEntryFields, v: string) =>
    setValues((old) => ({ ...old, insurance: old.insurance.map((e, j) => (j === i ? { ...e, [k]: v } : e)) }));

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    run(commands.patientProfileEdit(props.card.person_id, editOf(before, values)), {
      ok: props.onSaved,
      failed: (err) => {
        if (err.field) document.getElementById(`profile-${err.field}`)?.focus();
      },
    });
  }

  const field = (k: TextField, label: MessageKey, input: (describedBy: string | undefined) => ComponentChildren, hint?: MessageKey) => {
    const m = message(k);
    const describedBy = [hint ? `profile-${k}-hint` : "", m ? `profile-${k}-error` : ""].filter(Boolean).join(" ") || undefined;
    return (
      <div class={`field${m ? " has-error" : ""}`}>
        <label for={`profile-${k}`}>{t(label)}</label>
        {input(describedBy)}
        {hint && (
          <p class="hint" id={`profile-${k}-hint`}>
            {t(hint)}
          </p>
        )}
        <FieldError id={`profile-${k}-error`} message={m} />
      </div>
    );
  };
  const textInput = (k: TextField, type = "text") => (describedBy: string | undefined) => (
    <input
      id={`profile-${k}`}
      type={type}
      autoComplete="off"
      value={values[k]}
      aria-invalid={!!message(k)}
      aria-describedby={describedBy}
      onInput={(e) => set(k, e.currentTarget.value)}
    />
  );
  const textArea = (k: TextField) => (describedBy: string | undefined) => (
    <textarea
      id={`profile-${k}`}
      rows={3}
      value={values[k]}
      aria-invalid={!!message(k)}
      aria-describedby={describedBy}
      onInput={(e) => set(k, e.currentTarget.value)}
    />
  );
  const general = generalError(FIELDS);
  const insuranceMessage = message("insurance_entries");

  return (
    <form class="form profile-form" onSubmit={submit} noValidate aria-labelledby="card-edit-title">
      <div class="profile-form-grid">
        <div class="form">
          {field("date_of_birth", "card.dateOfBirth", textInput("date_of_birth", "date"), "card.edit.dateOfBirthHint")}
          {field("blood_type", "card.bloodType", (describedBy) => (
            <select
              id="profile-blood_type"
              value={values.blood_type}
              aria-invalid={!!message("blood_type")}
              aria-describedby={describedBy}
              onChange={(e) => set("blood_type", e.currentTarget.value)}
            >
              <option value="">{t("card.edit.bloodTypeNone")}</option>
              {BLOOD_TYPES.map((b) => (
                <option key={b} value={b}>
                  {b}
                </option>
              ))}
            </select>
          ))}
          {field("emergency_contact_name", "card.edit.emergencyName", textInput("emergency_contact_name"))}
          {field("emergency_contact_phone", "card.edit.emergencyPhone", textInput("emergency_contact_phone", "tel"), "card.edit.phoneHint")}
        </div>
        <div class="form">
          {field("allergies", "card.allergies", textArea("allergies"), "card.edit.listHint")}
          {field("chronic_conditions", "card.chronicConditions", textArea("chronic_conditions"), "card.edit.listHint")}
          <fieldset
            class={`field insurance-field${insuranceMessage ? " has-error" : ""}`}
            id="profile-insurance_entries"
            tabIndex={-1}
            aria-describedby={insuranceMessage ? "profile-insurance_entries-error" : undefined}
          >
            <legend>{t("card.insurance")}</legend>
            {values.insurance.map((entry, i) => (
              <div class="insurance-row" key={i}>
                <div class="field">
                  <label for={`profile-insurer-${i}`}>{t("card.edit.insurer")}</label>
                  <input id={`profile-insurer-${i}`} value={entry.insurer} onInput={(e) => setEntry(i, "insurer", e.currentTarget.value)} />
                </div>
                <div class="field">
                  <label for={`profile-policy-${i}`}>{t("card.edit.policyNumber")}</label>
                  <input
                    id={`profile-policy-${i}`}
                    inputMode="numeric"
                    value={entry.policy_number}
                    onInput={(e) => setEntry(i, "policy_number", e.currentTarget.value)}
                  />
                </div>
                <button
                  type="button"
                  class="button button-secondary"
                  aria-label={t("card.edit.removeInsuranceLabel", { n: i + 1 })}
                  onClick={() => setValues((old) => ({ ...old, insurance: old.insurance.filter((_, j) => j !== i) }))}
                >
                  {t("card.edit.removeInsurance")}
                </button>
              </div>
            ))}
            <div>
              <button
                type="button"
                class="button button-secondary"
                id="profile-add-insurance"
                onClick={() => setValues((old) => ({ ...old, insurance: [...old.insurance, { insurer: "", policy_number: "" }] }))}
              >
                {t("card.edit.addInsurance")}
              </button>
            </div>
            <FieldError id="profile-insurance_entries-error" message={insuranceMessage} />
          </fieldset>
        </div>
      </div>
      <ErrorAlert error={general} />
      <div class="button-row">
        <button type="submit" class="button button-primary" id="profile-save" aria-disabled={busy}>
          {busy ? t("common.saving") : t("card.edit.save")}
        </button>
        <button type="button" class="button button-secondary" onClick={props.onCancel}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
