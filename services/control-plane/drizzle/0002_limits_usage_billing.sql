CREATE TABLE "app_limit_overrides" (
	"app_id" text PRIMARY KEY NOT NULL,
	"limits" jsonb NOT NULL,
	"note" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_notices" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"kind" text NOT NULL,
	"day" text NOT NULL,
	"message" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_hourly" (
	"app_id" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"published" bigint DEFAULT 0 NOT NULL,
	"delivered" bigint DEFAULT 0 NOT NULL,
	"bytes_published" bigint DEFAULT 0 NOT NULL,
	"bytes_delivered" bigint DEFAULT 0 NOT NULL,
	"peak_connections" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_hourly_app_id_hour_pk" PRIMARY KEY("app_id","hour")
);
--> statement-breakpoint
ALTER TABLE "orgs" ADD COLUMN "stripe_customer_id" text;--> statement-breakpoint
ALTER TABLE "orgs" ADD COLUMN "stripe_subscription_id" text;--> statement-breakpoint
ALTER TABLE "orgs" ADD COLUMN "stripe_subscription_status" text;--> statement-breakpoint
ALTER TABLE "app_limit_overrides" ADD CONSTRAINT "app_limit_overrides_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_notices" ADD CONSTRAINT "app_notices_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_hourly" ADD CONSTRAINT "usage_hourly_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "app_notices_once_idx" ON "app_notices" USING btree ("app_id","kind","day");--> statement-breakpoint
ALTER TABLE "plans" DROP COLUMN "max_message_bytes";--> statement-breakpoint
ALTER TABLE "plans" DROP COLUMN "history_size";--> statement-breakpoint
ALTER TABLE "plans" DROP COLUMN "history_ttl_seconds";--> statement-breakpoint
ALTER TABLE "orgs" ADD CONSTRAINT "orgs_stripe_customer_id_unique" UNIQUE("stripe_customer_id");