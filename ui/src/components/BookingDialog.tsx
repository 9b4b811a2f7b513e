import { useLayoutEffect, useState } from "preact/hooks";
import { commands, type Consultation, type DoctorOption, type PartnerOption } from "../bindings";
import type { AppError } from "../errors";
import type { Translate } from "../i18n";
import { useI18n } from "../i18n";
import { callCommand, useCommand } from "../useCommand";
import { Dialog } from "./Dialog";
import { FieldError } from "./FieldError";
import { ErrorAlert } from "./ErrorAlert";
import { FormButtons } from "./FormButtons";

export const CHANNELS = ["video", "chat", "phone"] as const;
export type Channel = (typeof CHANNELS)[number];

/** What is booked: a screened referral, or a known patient of the clinic (a walk-in, a follow-up). */
export type BookingSubject =
  | { kind: "referral"; referralId: number; patientName: string }
  | { kind: "patient"; patientPersonId: number; patientName: string };

/** What the console says once a booking was saved, exactly as it stands. */
export function bookedMessage(c: Consultation, t: Translate): string {
  return c.assigned_doctor_id !== null
    ? t("booking.bookedAssigned", { id: c.id, doctor: c.doctor_name ?? t("booking.aDoctor") })
    : t("booking.bookedQueue", { id: c.id });
}

const FIELDS = ["enabled_channels", "primary_channel", "doctor_id", "partner_id"] as const;

/**
 * Books a consultation: for a referral from the screening list, or for a known patient. The
 * channels (video and chat by default), the primary one, and optionally a doctor of the clinic who
 * takes it at once; for a patient also the partner who pays, if any. `onBooked` gets the
 * consultation once the booking is saved.
 */
export function BookingDialog(props: {
  subject: BookingSubject;
  /** The clinic's doctors, when the caller has them; otherwise the dialog reads them. */
  doctors?: readonly DoctorOption[];
  onClose: () => void;
  onBooked: (c: Consultation) => void;
}) {
  const { t } = useI18n();
  const { subject } = props;
  const [channels, setChannels] = useState<Channel[]>(["video", "chat"]);
  const [primary, setPrimary] = useState<Channel>("video");
  const [doctor, setDoctor] = useState("");
  const [partner, setPartner] = useState("");
  const [doctors, setDoctors] = useState<readonly DoctorOption[]>(props.doctors ?? []);
  const [partners, setPartners] = useState<PartnerOption[]>([]);
  const [listError, setListError] = useState<AppError | null>(null);
  const { busy, error, setError, run, fieldError, generalError } = useCommand();

  useLayoutEffect(() => {
    if (!props.doctors) callCommand(commands.doctors(), { ok: setDoctors, failed: setListError });
  }, [props.doctors]);
  useLayoutEffect(() => {
    if (subject.kind === "patient") callCommand(commands.partners(), { ok: setPartners, failed: setListError });
  }, [subject.kind]);

  function toggle(c: Channel, on: boolean) {
    const next = CHANNELS.filter((x) => (x === c ? on : channels.includes(x)));
    setChannels(next);
    if (!next.includes(primary) && next[0]) setPrimary(next[0]);
    if (error?.field === "enabled_channels" || error?.field === "primary_channel") setError(null);
  }

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    if (channels.length === 0) {
      setError({ code: "invalid_input", field: "enabled_channels", message: t("booking.channelRequired") });
      document.getElementById("booking-channel-video")?.focus();
      return;
    }
    const choice = {
      enabled_channels: channels,
      primary_channel: primary,
      doctor_id: doctor ? Number(doctor) : null,
    };
    const call =
      subject.kind === "referral"
        ? commands.referralBook(subject.referralId, choice)
        : commands.consultationBook({
            ...choice,
            patient_person_id: subject.patientPersonId,
            partner_id: partner ? Number(partner) : null,
          });
    run(call, {
      ok: props.onBooked,
      failed: (err) => {
        if (err.field === "doctor_id") document.getElementById("booking-doctor")?.focus();
      },
    });
  }

  const general = generalError(FIELDS);
  return (
    <Dialog id="booking" title={t("booking.title", { name: subject.patientName })} onClose={props.onClose}>
      <form class="form" onSubmit={submit} noValidate>
        <fieldset class={`field${fieldError("enabled_channels") ? " has-error" : ""}`} aria-describedby="booking-channels-hint">
          <legend>{t("booking.channels")}</legend>
          <p class="hint" id="booking-channels-hint">
            {t("booking.channelsHint")}
          </p>
          <div class="channel-choices">
            {CHANNELS.map((c) => (
              <label class="radio" key={c}>
                <input
                  id={`booking-channel-${c}`}
                  type="checkbox"
                  checked={channels.includes(c)}
                  onChange={(e) => toggle(c, (e.target as HTMLInputElement).checked)}
                />{" "}
                {t(`channel.${c}`)}
              </label>
            ))}
          </div>
          <FieldError id="booking-channels-error" message={fieldError("enabled_channels")} />
        </fieldset>
        <div class={`field${fieldError("primary_channel") ? " has-error" : ""}`}>
          <label for="booking-primary">{t("booking.primary")}</label>
          <select
            id="booking-primary"
            value={primary}
            aria-invalid={!!fieldError("primary_channel")}
            aria-describedby={fieldError("primary_channel") ? "booking-primary-error" : undefined}
            onChange={(e) => setPrimary(e.currentTarget.value as Channel)}
          >
            {CHANNELS.filter((c) => channels.includes(c)).map((c) => (
              <option key={c} value={c}>
                {t(`channel.${c}`)}
              </option>
            ))}
          </select>
          <FieldError id="booking-primary-error" message={fieldError("primary_channel")} />
        </div>
        {subject.kind === "patient" && (
          <div class={`field${fieldError("partner_id") ? " has-error" : ""}`}>
            <label for="booking-partner">{t("booking.partner")}</label>
            <select
              id="booking-partner"
              value={partner}
              aria-invalid={!!fieldError("partner_id")}
              aria-describedby={fieldError("partner_id") ? "booking-partner-error" : "booking-partner-hint"}
              onChange={(e) => setPartner(e.currentTarget.value)}
            >
              <option value="">{t("booking.noPartner")}</option>
              {partners.map((p) => (
                <option key={p.id} value={String(p.id)}>
                  {p.name}
                </option>
              ))}
            </select>
            <p class="hint" id="booking-partner-hint">
              {t("booking.partnerHint")}
            </p>
            <FieldError id="booking-partner-error" message={fieldError("partner_id")} />
          </div>
        )}
        <div class={`field${fieldError("doctor_id") ? " has-error" : ""}`}>
          <label for="booking-doctor">{t("booking.doctor")}</label>
          <select
            id="booking-doctor"
            value={doctor}
            aria-invalid={!!fieldError("doctor_id")}
            aria-describedby={fieldError("doctor_id") ? "booking-doctor-error" : "booking-doctor-hint"}
            onChange={(e) => setDoctor(e.currentTarget.value)}
          >
            <option value="">{t("booking.anyDoctor")}</option>
            {doctors.map((d) => (
              <option key={d.id} value={String(d.id)}>
                {d.name}
              </option>
            ))}
          </select>
          <p class="hint" id="booking-doctor-hint">
            {t("booking.doctorHint")}
          </p>
          <FieldError id="booking-doctor-error" message={fieldError("doctor_id")} />
        </div>
        <ErrorAlert error={listError} />
        <ErrorAlert error={general} />
        <FormButtons busy={busy} label={t("booking.submit")} busyLabel={t("common.saving")} onCancel={props.onClose} />
      </form>
    </Dialog>
  );
}
