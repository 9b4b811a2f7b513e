import { useCallback, useEffect, useState } from "preact/hooks";
import { commands, type CreatedPartner, type PartnerInput, type PartnerOption } from "../bindings";
import { FieldError } from "../components/FieldError";
import type { AppError } from "../errors";
import type { Translate } from "../i18n";
import { useI18n } from "../i18n";
import { callCommand, useCommand } from "../useCommand";
import { DealPrices } from "./AdminPrices";
import { ErrorAlert } from "../components/ErrorAlert";

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Checks a new partner before it is sent, as the core does (it checks the secret itself). */
export function checkPartner(input: PartnerInput, t: Translate): AppError | null {
  const invalid = (field: string, message: string): AppError => ({ code: "invalid_input", message, field });
  if (!NAME.test(input.name.trim())) return invalid("name", t("partners.nameInvalid"));
  const days = input.deadline_working_days;
  if (!Number.isInteger(days) || days < 1 || days > 60) return invalid("deadline_days", t("partners.daysInvalid"));
  if (input.secret !== null && !input.secret.trim()) return invalid("secret", t("partners.secretRequired"));
  return null;
}

/** The clinic's referral partners (whether each books on arrival), a new one with its webhook secret (shown once), and their deal prices. */
export function Partners() {
  const { t } = useI18n();
  const [partners, setPartners] = useState<PartnerOption[] | null>(null);
  const [name, setName] = useState("");
  const [days, setDays] = useState("2");
  const [test, setTest] = useState(false);
  const [onArrival, setOnArrival] = useState(false);
  const [generate, setGenerate] = useState(true);
  const [secret, setSecret] = useState("");
  const { busy, setError, run, fieldError, generalError } = useCommand();
  const [created, setCreated] = useState<CreatedPartner | null>(null);

  const load = useCallback(() => {
    callCommand(commands.partners(), { ok: setPartners, failed: setError });
  }, [setError]);
  useEffect(load, [load]);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const input: PartnerInput = {
      name,
      deadline_working_days: Number(days),
      is_test_partner: test,
      secret: generate ? null : secret,
      book_on_arrival: onArrival,
    };
    const problem = checkPartner(input, t);
    if (problem) {
      setError(problem);
      document.getElementById(`partner-${problem.field}`)?.focus();
      return;
    }
    run(commands.partnerAdd(input), {
      ok: (partner) => {
        setName("");
        setDays("2");
        setTest(false);
        setOnArrival(false);
        setSecret("");
        setGenerate(true);
        setCreated(partner);
        load();
      },
      failed: (err) => {
        if (err.field) document.getElementById(`partner-${err.field}`)?.focus();
      },
    });
  }

  const general = generalError(["name", "deadline_days", "secret"]);
  return (
    <div class="card" aria-labelledby="partners-title">
      <h2 id="partners-title">{t("partners.title")}</h2>
      <PartnerList partners={partners ?? []} onChanged={load} />
      {created && (
        <div class="alert alert-success partner-secret" role="status">
          <p>
            <strong>{t("partners.created", { name: created.partner.name })}</strong>
          </p>
          <p>{t("partners.secretOnce")}</p>
          <div class="field">
            <label for="partner-new-secret">{t("partners.secretOf", { name: created.partner.name })}</label>
            <input
              id="partner-new-secret"
              class="secret-value"
              readOnly
              value={created.secret}
              onFocus={(e) => (e.target as HTMLInputElement).select()}
            />
          </div>
          <button type="button" class="button button-secondary" onClick={() => setCreated(null)}>
            {t("partners.secretNoted")}
          </button>
        </div>
      )}
      <form class="form partner-form" onSubmit={submit} noValidate aria-labelledby="partner-new-heading">
        <h3 id="partner-new-heading">{t("partners.new")}</h3>
        <div class={`field${fieldError("name") ? " has-error" : ""}`}>
          <label for="partner-name">{t("partners.name")}</label>
          <input
            id="partner-name"
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
            aria-invalid={!!fieldError("name")}
            aria-describedby={fieldError("name") ? "partner-name-error" : "partner-name-hint"}
          />
          <p class="hint" id="partner-name-hint">
            {t("partners.nameHint")}
          </p>
          <FieldError id="partner-name-error" message={fieldError("name")} />
        </div>
        <div class={`field${fieldError("deadline_days") ? " has-error" : ""}`}>
          <label for="partner-deadline_days">{t("partners.days")}</label>
          <input
            id="partner-deadline_days"
            type="number"
            min={1}
            max={60}
            value={days}
            onInput={(e) => setDays((e.target as HTMLInputElement).value)}
            aria-invalid={!!fieldError("deadline_days")}
            aria-describedby={fieldError("deadline_days") ? "partner-deadline_days-error" : undefined}
          />
          <FieldError id="partner-deadline_days-error" message={fieldError("deadline_days")} />
        </div>
        <div class="field field-check">
          <input id="partner-test" type="checkbox" checked={test} onChange={(e) => setTest((e.target as HTMLInputElement).checked)} />
          <div>
            <label for="partner-test">{t("partners.test")}</label>
          </div>
        </div>
        <div class="field field-check">
          <input
            id="partner-book_on_arrival"
            type="checkbox"
            checked={onArrival}
            aria-describedby="partner-book_on_arrival-hint"
            onChange={(e) => setOnArrival((e.target as HTMLInputElement).checked)}
          />
          <div>
            <label for="partner-book_on_arrival">{t("partners.bookOnArrival")}</label>
            <p class="hint" id="partner-book_on_arrival-hint">
              {t("partners.bookOnArrivalHint")}
            </p>
          </div>
        </div>
        <fieldset class={`field${fieldError("secret") ? " has-error" : ""}`}>
          <legend>{t("partners.secret")}</legend>
          <label class="radio">
            <input type="radio" name="partner-secret-kind" checked={generate} onChange={() => setGenerate(true)} /> {t("partners.generate")}
          </label>
          <label class="radio">
            <input type="radio" name="partner-secret-kind" checked={!generate} onChange={() => setGenerate(false)} /> {t("partners.enter")}
          </label>
          {!generate && (
            <div class="field">
              <label for="partner-secret">{t("partners.secretGiven")}</label>
              <input
                id="partner-secret"
                type="password"
                autoComplete="off"
                value={secret}
                onInput={(e) => setSecret((e.target as HTMLInputElement).value)}
                aria-invalid={!!fieldError("secret")}
                aria-describedby={fieldError("secret") ? "partner-secret-error" : "partner-secret-hint"}
              />
              <p class="hint" id="partner-secret-hint">
                {t("partners.secretHint")}
              </p>
            </div>
          )}
          <FieldError id="partner-secret-error" message={fieldError("secret")} />
        </fieldset>
        <ErrorAlert error={general} />
        <button type="submit" class="button button-secondary" aria-disabled={busy}>
          {busy ? t("common.saving") : t("partners.add")}
        </button>
      </form>
      <DealPrices partners={partners} />
    </div>
  );
}

/** The partners, each with whether its referrals are booked on arrival, which an admin switches here. */
function PartnerList(props: { partners: readonly PartnerOption[]; onChanged: () => void }) {
  const { t } = useI18n();
  const { busy, error, run } = useCommand();
  const [changed, setChanged] = useState<string | null>(null);

  function set(p: PartnerOption, on: boolean) {
    if (busy) return;
    setChanged(null);
    run(commands.partnerSetBookOnArrival(p.id, on), {
      ok: (saved) => {
        setChanged(t(saved.book_on_arrival ? "partners.nowOnArrival" : "partners.nowScreened", { name: saved.name }));
        props.onChanged();
      },
    });
  }

  return (
    <>
      <ul class="partner-list">
        {props.partners.map((p) => (
          <li key={p.id}>
            <span>
              <span class="partner-name">{p.name}</span>{" "}
              <span class="muted partner-arrival">· {t(p.book_on_arrival ? "partners.onArrival" : "partners.screened")}</span>
            </span>
            <span class="field-check">
              <input
                id={`partner-${p.id}-on-arrival`}
                type="checkbox"
                checked={p.book_on_arrival}
                aria-label={t("partners.toggleOnArrival", { name: p.name })}
                aria-disabled={busy}
                onChange={(e) => {
                  const box = e.target as HTMLInputElement;
                  // The box shows what is saved: it changes once the console answers.
                  box.checked = p.book_on_arrival;
                  set(p, !p.book_on_arrival);
                }}
              />
              <label for={`partner-${p.id}-on-arrival`}>{t("partners.onArrivalShort")}</label>
            </span>
          </li>
        ))}
      </ul>
      {changed && (
        <p class="hint partner-changed" role="status">
          {changed}
        </p>
      )}
      <ErrorAlert error={error} />
    </>
  );
}
