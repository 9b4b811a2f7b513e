import { useState } from "preact/hooks";
import { lastMonthInClinic } from "../i18n/format";
import { FieldError } from "./FieldError";

/** A period's dates as a form edits them (`YYYY-MM-DD`, both included). */
export interface Period {
  from: string;
  to: string;
  setFrom: (value: string) => void;
  setTo: (value: string) => void;
}

/** The period a form asks for, the last month in the clinic's time zone at first. */
export function usePeriod(): Period {
  const [initial] = useState(lastMonthInClinic);
  const [from, setFrom] = useState(initial.from);
  const [to, setTo] = useState(initial.to);
  return { from, to, setFrom, setTo };
}

/**
 * A period's two date fields, "from" and "to" (included), each with its error under it. Their ids
 * are `{idPrefix}-from` and `{idPrefix}-to`, so a refusal naming `from` or `to` can focus its field.
 */
export function PeriodFields(props: {
  idPrefix: string;
  labels: { from: string; to: string };
  period: Period;
  fieldError: (field: string) => string | null;
}) {
  const { period } = props;
  return (
    <>
      {(["from", "to"] as const).map((f) => {
        const id = `${props.idPrefix}-${f}`;
        const error = props.fieldError(f);
        return (
          <div class={`field${error ? " has-error" : ""}`} key={f}>
            <label for={id}>{props.labels[f]}</label>
            <input
              id={id}
              type="date"
              value={period[f]}
              onInput={(e) => (f === "from" ? period.setFrom : period.setTo)((e.target as HTMLInputElement).value)}
              aria-invalid={!!error}
              aria-describedby={error ? `${id}-error` : undefined}
            />
            <FieldError id={`${id}-error`} message={error} />
          </div>
        );
      })}
    </>
  );
}
