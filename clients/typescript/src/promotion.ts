/**
 * A call of each promotion API operation, as a frontend writes it with the client generated
 * from docs/openapi/promotion.json. `tsc` checks it (tests/stack/test_typescript_client.py):
 * types are looked up by operationId, so a renamed operation or a changed schema fails.
 */
import createClient from "openapi-fetch";

import type { operations, paths } from "./generated/promotion";

type Voucher = operations["listMyVouchers"]["responses"][200]["content"]["application/json"][number];
type Purchase = operations["redeemVoucher"]["requestBody"]["content"]["application/json"];
type Redemption = operations["redeemVoucher"]["responses"][200]["content"]["application/json"];
type Campaign = operations["getCampaign"]["responses"][200]["content"]["application/json"];
type Alive = operations["live"]["responses"][200]["content"]["application/json"];
type Liveness = operations["health"]["responses"][200]["content"]["application/json"];
type Readiness = operations["ready"]["responses"][503]["content"]["application/json"];
type MetricsAnswer = operations["metrics"]["responses"][200];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8001" });

function bearer(accessToken: string): { Authorization: string } {
  return { Authorization: `Bearer ${accessToken}` };
}

export async function listMyVouchers(accessToken: string): Promise<Voucher[]> {
  const { data, error } = await api.GET("/v1/vouchers", { headers: bearer(accessToken) });
  if (error) throw new Error(`${error.status} ${error.title}`);
  return data;
}

export async function redeemVoucher(
  accessToken: string,
  voucher: Voucher,
  purchase: Purchase,
): Promise<Redemption> {
  const { data, error } = await api.POST("/v1/vouchers/{voucher_id}/redeem", {
    params: { path: { voucher_id: voucher.id } },
    headers: bearer(accessToken),
    body: purchase,
  });
  if (error) throw new Error(`${error.status} ${error.title}: ${error.detail ?? ""}`);
  return data;
}

export async function getCampaign(campaignId: string): Promise<Campaign | undefined> {
  const { data } = await api.GET("/v1/campaigns/{campaign_id}", {
    params: { path: { campaign_id: campaignId } },
  });
  return data;
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

export async function payWithFirstVoucher(accessToken: string): Promise<string | undefined> {
  const [voucher] = await listMyVouchers(accessToken);
  if (voucher?.status !== "active") return undefined;
  const redemption = await redeemVoucher(accessToken, voucher, {
    amount: "120.00",
    currency: "EUR",
    purchase_id: "order-1",
  });
  // Money travels as decimal strings: the final amount is text, never a float.
  const toPay: string = redemption.final_amount;
  return toPay;
}

// What the generated types refuse: each line below must fail to type-check.
export async function mistakes(accessToken: string, voucher: Voucher): Promise<void> {
  // @ts-expect-error a redemption names its purchase
  await redeemVoucher(accessToken, voucher, { amount: "1.00", currency: "EUR" });
  // @ts-expect-error the voucher id is a path parameter that must be given
  await api.POST("/v1/vouchers/{voucher_id}/redeem", { body: voucher });
  // @ts-expect-error a voucher's status is active, redeemed or expired
  const status: Voucher["status"] = "pending";
  // @ts-expect-error the amounts of a redemption are decimal strings
  const discount: Redemption["discount_amount"] = 36.0;
  // @ts-expect-error the metrics answer is text, not a JSON body
  const body: MetricsAnswer["content"]["application/json"] = {};
  void [status, discount, body];
}
