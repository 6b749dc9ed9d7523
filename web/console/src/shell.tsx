import { useMutation, useQuery } from "@tanstack/react-query";
import { type ReactNode, useEffect } from "react";
import { Link, Redirect, Route, Switch, useLocation } from "wouter";
import { api, codeOf, type Me, meQuery, queryClient } from "./api";
import { AppPage } from "./pages/app";
import { AppsPage } from "./pages/apps";
import { ForgotPasswordPage, LoginPage, ResetPasswordPage, SignupPage } from "./pages/auth";
import { BillingPage } from "./pages/billing";
import { OnboardingPage } from "./pages/onboarding";
import { TeamPage } from "./pages/team";
import { ErrorNote, Loading } from "./ui";

export function Console() {
  return (
    <Switch>
      <Route path="/login" component={LoginPage} />
      <Route path="/signup" component={SignupPage} />
      <Route path="/forgot-password" component={ForgotPasswordPage} />
      <Route path="/reset-password/:token">{(params) => <ResetPasswordPage token={params.token} />}</Route>
      <Route>
        <SignedIn>{(me) => <SignedInRoutes me={me} />}</SignedIn>
      </Route>
    </Switch>
  );
}

function SignedInRoutes({ me }: { me: Me }) {
  return (
    <Layout me={me}>
      <Switch>
        <Route path="/" component={Home} />
        <Route path="/welcome" component={OnboardingPage} />
        <Route path="/apps" component={AppsPage} />
        <Route path="/apps/:appId/:tab?">
          {(params) => <AppPage appId={params.appId} tab={params.tab} />}
        </Route>
        <Route path="/billing" component={BillingPage} />
        <Route path="/team">{() => <TeamPage />}</Route>
        <Route path="/invite/:token">{(params) => <TeamPage inviteToken={params.token} />}</Route>
        <Route>
          <section>
            <h1>Page not found</h1>
            <p>
              <Link href="/apps">Go to your apps</Link>
            </p>
          </section>
        </Route>
      </Switch>
    </Layout>
  );
}

/** Renders its children with the signed-in user; sends everyone else to the login page. */
function SignedIn({ children }: { children: (me: Me) => ReactNode }) {
  const me = useQuery(meQuery);
  const [location] = useLocation();
  if (me.isPending) return <Loading what="Opening the console" />;
  if (me.isError) {
    if (codeOf(me.error) === "UNAUTHENTICATED") {
      const next = location === "/" ? "" : `?next=${encodeURIComponent(location)}`;
      return <Redirect to={`/login${next}`} replace />;
    }
    return (
      <main className="narrow">
        <ErrorNote error={me.error} retry={() => me.refetch()} />
      </main>
    );
  }
  return <>{children(me.data)}</>;
}

/** New accounts (no app yet) land on the checklist; everyone else on their apps. */
function Home() {
  const apps = useQuery({ queryKey: ["apps"], queryFn: () => api.apps.list.query() });
  if (apps.isPending) return <Loading />;
  if (apps.isError) return <ErrorNote error={apps.error} retry={() => apps.refetch()} />;
  return <Redirect to={apps.data.length === 0 ? "/welcome" : "/apps"} replace />;
}

function Layout({ me, children }: { me: Me; children: ReactNode }) {
  const [location, navigate] = useLocation();
  const logout = useMutation({
    mutationFn: () => api.auth.logout.mutate(),
    onSettled: () => {
      queryClient.clear();
      navigate("/login", { replace: true });
    },
  });
  useEffect(() => {
    document.title = "Relaybase console";
  }, []);
  const nav = [
    { href: "/welcome", label: "Get started" },
    { href: "/apps", label: "Apps" },
    { href: "/team", label: "Team" },
    { href: "/billing", label: "Billing" },
  ];
  return (
    <div className="layout">
      <header className="top">
        <Link href="/apps" className="brand">
          Relaybase
        </Link>
        <nav aria-label="Main">
          {nav.map((item) => (
            <Link
              key={item.href}
              href={item.href}
              aria-current={
                location === item.href || location.startsWith(`${item.href}/`) ? "page" : undefined
              }
            >
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="who">
          <span className="muted" title={me.user.email}>
            {me.user.email}
          </span>
          <button type="button" className="secondary small" onClick={() => logout.mutate()}>
            Log out
          </button>
        </div>
      </header>
      <main>{children}</main>
    </div>
  );
}
