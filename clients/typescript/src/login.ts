/**
 * A call of each login API operation, as a frontend writes it with the client generated from
 * docs/openapi/login.json. `tsc` checks it (tests/stack/test_typescript_client.py): types are
 * looked up by operationId, so a renamed operation or a changed schema fails the check.
 */
import createClient from "openapi-fetch";

import type { operations, paths } from "./generated/login";

type Registration = operations["register"]["requestBody"]["content"]["application/json"];
type Account = operations["getMe"]["responses"][200]["content"]["application/json"];
type Credentials = operations["login"]["requestBody"]["content"]["application/json"];
type Session = operations["login"]["responses"][200]["content"]["application/json"];
type TokenForm =
  operations["issueToken"]["requestBody"]["content"]["application/x-www-form-urlencoded"];
type KeySet = operations["getJwks"]["responses"][200]["content"]["application/json"];
type Alive = operations["live"]["responses"][200]["content"]["application/json"];
type Liveness = operations["health"]["responses"][200]["content"]["application/json"];
type Readiness = operations["ready"]["responses"][503]["content"]["application/json"];
type MetricsAnswer = operations["metrics"]["responses"][200];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

export async function register(registration: Registration): Promise<Account> {
  const { data, error } = await api.POST("/v1/accounts", { body: registration });
  if (error) throw new Error(`${error.status} ${error.title}: ${error.detail ?? ""}`);
  return data;
}

export async function logIn(credentials: Credentials): Promise<Session> {
  const { data, error, response } = await api.POST("/v1/auth/login", { body: credentials });
  if (error) {
    const wait = response.headers.get("Retry-After");
    throw new Error(wait ? `throttled, retry in ${wait} s` : error.title);
  }
  return data;
}

export async function issueToken(form: TokenForm): Promise<Session | undefined> {
  const { data } = await api.POST("/v1/auth/token", {
    body: form,
    bodySerializer: (body) =>
      new URLSearchParams(
        Object.entries(body).filter((entry): entry is [string, string] => entry[1] != null),
      ),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  return data;
}

export async function getMe(session: Session): Promise<Account | undefined> {
  const { data } = await api.GET("/v1/accounts/me", {
    headers: { Authorization: `${session.token_type} ${session.access_token}` },
  });
  return data;
}

export async function getJwks(): Promise<KeySet | undefined> {
  return (await api.GET("/.well-known/jwks.json")).data;
}

export async function live(): Promise<Alive["status"] | undefined> {
  return (await api.GET("/livez")).data?.status;
}

export async function health(): Promise<Liveness["status"] | undefined> {
  return (await api.GET("/healthz")).data?.status;
}

export async function ready(): Promise<Readiness["checks"] | undefined> {
  const { data, error } = await api.GET("/readyz");
  return (data ?? error)?.checks;
}

export async function metrics(): Promise<string | undefined> {
  const answer: { data?: string } = await api.GET("/metrics", { parseAs: "text" });
  return answer.data;
}

export async function firstSession(): Promise<string | undefined> {
  const account = await register({
    username: "ada",
    email: "ada@example.com",
    phone: "+12025550100",
    password: "correct horse battery staple",
  });
  const session = await logIn({ identifier: account.username, password: "..." });
  const me = await getMe(session);
  return me?.first_login_at ?? undefined;
}

// What the generated types refuse: each line below must fail to type-check.
export async function mistakes(session: Session): Promise<void> {
  // @ts-expect-error a registration needs a password
  await register({ username: "ada", email: "ada@example.com", phone: "+12025550100" });
  // @ts-expect-error the API has no such path
  await api.GET("/v1/accounts/everyone");
  // @ts-expect-error token_type is always "bearer"
  const scheme: Session["token_type"] = "mac";
  // @ts-expect-error the metrics answer is text, not a JSON body
  const body: MetricsAnswer["content"]["application/json"] = {};
  void [session, scheme, body];
}
