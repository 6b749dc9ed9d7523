import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { api, codeOf, describeError, queryClient } from "../api";
import { safeNext } from "../paths";
import { Field } from "../ui";

const MIN_PASSWORD = 8;

/** A new password (signup, reset): the length rule and its message, in one place. */
function NewPasswordField(props: {
  label: string;
  hint: string;
  value: string;
  onChange: (value: string) => void;
  /** The form was submitted once: a short password is then marked and explained. */
  tried: boolean;
}) {
  const weak = props.value.length < MIN_PASSWORD;
  return (
    <>
      <Field label={props.label} hint={`At least ${MIN_PASSWORD} characters. ${props.hint}`}>
        {(id) => (
          <input
            id={id}
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSWORD}
            aria-invalid={props.tried && weak}
            value={props.value}
            onChange={(e) => props.onChange(e.target.value)}
          />
        )}
      </Field>
      {props.tried && weak && (
        <p className="note error" role="alert">
          That password is too short: use at least {MIN_PASSWORD} characters.
        </p>
      )}
    </>
  );
}

function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="auth">
      <div className="card">
        <p className="brand">Relaybase</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function LoginPage() {
  const [, navigate] = useLocation();
  const search = useSearch();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useMutation({
    mutationFn: () => api.auth.login.mutate({ email, password }),
    onSuccess: (me) => {
      queryClient.setQueryData(["me"], me);
      navigate(safeNext(search), { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate();
  };
  return (
    <AuthFrame title="Log in">
      <form onSubmit={submit} noValidate>
        <Field label="Email">
          {(id) => (
            <input
              id={id}
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password">
          {(id) => (
            <input
              id={id}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {login.isError && (
          <p className="note error" role="alert">
            {describeError(login.error, {
              INVALID_CREDENTIALS: "Wrong email or password.",
              BAD_REQUEST: "Enter your email and password.",
            })}
          </p>
        )}
        <button type="submit" disabled={login.isPending || !email || !password}>
          {login.isPending ? "Logging in…" : "Log in"}
        </button>
      </form>
      <p className="muted">
        <Link href="/forgot-password">Forgot your password?</Link>
      </p>
      <p className="muted">
        New here? <Link href={`/signup${search ? `?${search}` : ""}`}>Create an account</Link>
      </p>
    </AuthFrame>
  );
}

export function SignupPage() {
  const [, navigate] = useLocation();
  const search = useSearch();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [tried, setTried] = useState(false);
  const weak = password.length < MIN_PASSWORD;
  const signup = useMutation({
    mutationFn: () =>
      api.auth.signup.mutate({ email, password, ...(name.trim() ? { name: name.trim() } : {}) }),
    onSuccess: (me) => {
      queryClient.setQueryData(["me"], me);
      const next = safeNext(search);
      navigate(next === "/" ? "/welcome" : next, { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!weak) signup.mutate();
  };
  const taken = codeOf(signup.error) === "CONFLICT";
  return (
    <AuthFrame title="Create your account">
      <form onSubmit={submit} noValidate>
        <Field label="Name (optional)">
          {(id) => (
            <input id={id} autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
          )}
        </Field>
        <Field label="Email">
          {(id) => (
            <input
              id={id}
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <NewPasswordField
          label="Password"
          hint="A few words make a good one."
          value={password}
          onChange={setPassword}
          tried={tried}
        />
        {signup.isError && (
          <p className="note error" role="alert">
            {taken ? (
              <>
                An account with this email already exists.{" "}
                <Link href={`/login${search ? `?${search}` : ""}`}>Log in instead</Link>.
              </>
            ) : (
              describeError(signup.error)
            )}
          </p>
        )}
        <button type="submit" disabled={signup.isPending || !email}>
          {signup.isPending ? "Creating your account…" : "Create account"}
        </button>
      </form>
      <p className="muted">
        Have an account? <Link href={`/login${search ? `?${search}` : ""}`}>Log in</Link>
      </p>
    </AuthFrame>
  );
}

/** Asks for a reset link by email. The answer never says whether the account exists. */
export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const request = useMutation({
    mutationFn: () => api.auth.requestPasswordReset.mutate({ email: email.trim() }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (email.trim()) request.mutate();
  };
  return (
    <AuthFrame title="Reset your password">
      {request.data ? (
        <p className="note" role="status">
          {request.data.mailed
            ? `If there is an account for ${email.trim()}, we have sent it a link to choose a new password. The link works once, for an hour.`
            : "This Relaybase sends no email: the reset link is in the control plane's log. Ask whoever runs it to pass it on."}
        </p>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field label="Email">
            {(id) => (
              <input
                id={id}
                type="email"
                autoComplete="email"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            )}
          </Field>
          {request.isError && (
            <p className="note error" role="alert">
              {describeError(request.error, { BAD_REQUEST: "Enter the email of your account." })}
            </p>
          )}
          <button type="submit" disabled={request.isPending || !email.trim()}>
            {request.isPending ? "Sending…" : "Send me a reset link"}
          </button>
        </form>
      )}
      <p className="muted">
        <Link href="/login">Back to log in</Link>
      </p>
    </AuthFrame>
  );
}

/** The mailed link: a new password, then the console, signed in (every other session ended). */
export function ResetPasswordPage({ token }: { token: string }) {
  const [, navigate] = useLocation();
  const [password, setPassword] = useState("");
  const [tried, setTried] = useState(false);
  const weak = password.length < MIN_PASSWORD;
  const reset = useMutation({
    mutationFn: () => api.auth.resetPassword.mutate({ token, password }),
    onSuccess: (me) => {
      queryClient.setQueryData(["me"], me);
      navigate("/apps", { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!weak) reset.mutate();
  };
  const dead = codeOf(reset.error) === "NOT_FOUND";
  return (
    <AuthFrame title="Choose a new password">
      <form onSubmit={submit} noValidate>
        <NewPasswordField
          label="New password"
          hint="Every session of the account is signed out."
          value={password}
          onChange={setPassword}
          tried={tried}
        />
        {reset.isError && (
          <p className="note error" role="alert">
            {dead ? (
              <>
                This link was used, replaced by a newer one or has expired.{" "}
                <Link href="/forgot-password">Ask for a new one</Link>.
              </>
            ) : (
              describeError(reset.error)
            )}
          </p>
        )}
        <button type="submit" disabled={reset.isPending || !password}>
          {reset.isPending ? "Saving…" : "Set new password"}
        </button>
      </form>
    </AuthFrame>
  );
}
