export function TeamPage(_props: { inviteToken?: string }) {
  return (
    <section>
      <h1>Team</h1>
    </section>
  );
}
