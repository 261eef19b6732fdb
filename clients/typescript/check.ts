// A small client written against the types openapi-typescript generates from `bamex openapi`
// (scripts/check-openapi). It is type-checked, never run: a document a client cannot be built
// from (an unresolved reference, a body no value satisfies, a missing operation) fails the build.
import type { components, paths } from "./generated/schema";

type Login = paths["/api/v1/auth/login"]["post"];
type LoginBody = Login["requestBody"]["content"]["application/json"];
type LoginAnswer = Login["responses"][200]["content"]["application/json"];
type TokenPair = components["schemas"]["TokenPair"];
type SecondStep = paths["/api/v1/auth/login/mfa"]["post"];
type SecondStepBody = SecondStep["requestBody"]["content"]["application/json"];

type Queue = paths["/api/v1/events/{event}/accreditations"]["get"];
type QueueQuery = NonNullable<Queue["parameters"]["query"]>;
type QueuePage = Queue["responses"][200]["content"]["application/json"];
type Problem = components["schemas"]["Problem"];

type VisitorRequest = components["schemas"]["VisitorRequest"];

async function send<T>(url: string, init: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) {
    const problem = (await response.json()) as Problem;
    throw new Error(`${problem.status} ${problem.code}: ${problem.detail}`);
  }
  return (await response.json()) as T;
}

// Staff accounts sign in in two steps: the password, then a code from their authenticator.
export async function login(
  base: string,
  body: LoginBody,
  code: () => Promise<string>,
): Promise<TokenPair> {
  const answer = await send<LoginAnswer>(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!("mfa_required" in answer)) {
    return answer;
  }
  const second: SecondStepBody = { challenge: answer.challenge, code: await code() };
  return send<TokenPair>(`${base}/api/v1/auth/login/mfa`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(second),
  });
}

export function reviewQueue(
  base: string,
  tokens: TokenPair,
  event: string,
  query: QueueQuery,
): Promise<QueuePage> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(name, String(value));
  }
  return send<QueuePage>(
    `${base}/api/v1/events/${encodeURIComponent(event)}/accreditations?${search}`,
    { headers: { authorization: `${tokens.token_type} ${tokens.access_token}` } },
  );
}

export async function pendingByName(
  base: string,
  code: () => Promise<string>,
): Promise<string[]> {
  const tokens = await login(
    base,
    { email: "organizer@bamex.ml", password: "Koulikoro-range-2026" },
    code,
  );
  const names: string[] = [];
  let cursor: string | null | undefined = undefined;
  do {
    const page: QueuePage = await reviewQueue(base, tokens, "bamex-2026", {
      status: "pending",
      sort: "name",
      limit: 100,
      cursor: cursor ?? undefined,
    });
    for (const accreditation of page.items) {
      names.push(`${accreditation.participant.last_name} (${accreditation.status})`);
    }
    cursor = page.next_cursor;
  } while (cursor);
  return names;
}

// A visitor's registration can be written as one object (it once was an unsatisfiable allOf).
export const journalist: VisitorRequest = {
  category: "media",
  media_outlet: "L'Essor",
  press_card_number: "ML-PRESS-0421",
  first_name: "Awa",
  last_name: "Traoré",
  organization: "L'Essor",
  nationality: "ML",
  date_of_birth: "1990-05-04",
  id_document_type: "passport",
  id_document_number: "AA1234567",
};

// @ts-expect-error the queue sorts by `created` or `name` only
export const wrongSort: QueueQuery = { sort: "oldest" };
