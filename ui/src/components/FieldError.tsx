/** The error shown under one form field; its id is what the field's aria-describedby names. */
export function FieldError(props: { id: string; message: string | null | undefined }) {
  if (!props.message) return null;
  return (
    <p id={props.id} class="field-error" role="alert">
      {props.message}
    </p>
  );
}
