import { columns } from '../db/schema/columns.ts';
import { type Conn, sql } from '../db/types.ts';
import type { Channel, ChannelKind, ChannelMessage } from '../domain/index.ts';

/** Issue 23: Slack and Teams connections, the Slack messages posted, and members' Slack links. */

const C = columns('channels', [
  'id',
  'workspace_id',
  'kind',
  'settings',
  'secrets',
  'created_at',
  'updated_at',
]);
const toChannel = (raw: unknown[]): Channel => {
  const r = C.row(raw);
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    kind: r.kind as ChannelKind,
    settings: JSON.parse(r.settings),
    secrets: r.secrets,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};
const BY_WORKSPACE = sql(`SELECT ${C.list} FROM channels WHERE workspace_id = ? ORDER BY kind`, toChannel);
const BY_ID = sql(`SELECT ${C.list} FROM channels WHERE id = ?`, toChannel);
const UPSERT = sql(
  `INSERT INTO channels (${C.list}) VALUES (?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (workspace_id, kind) DO UPDATE SET
     settings = excluded.settings, secrets = excluded.secrets, updated_at = excluded.updated_at`,
);
const REMOVE = sql('DELETE FROM channels WHERE workspace_id = ? AND kind = ?');

export function listChannels(conn: Conn, workspaceId: string): Promise<Channel[]> {
  return conn.all(BY_WORKSPACE, [workspaceId]);
}

export function getChannel(conn: Conn, id: string): Promise<Channel | undefined> {
  return conn.get(BY_ID, [id]);
}

/** Connects a channel, or replaces the workspace's connection of that kind (its id stays). */
export async function upsertChannel(tx: Conn, c: Channel): Promise<void> {
  await tx.run(
    UPSERT,
    C.values({
      id: c.id,
      workspace_id: c.workspaceId,
      kind: c.kind,
      settings: JSON.stringify(c.settings),
      secrets: c.secrets,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    }),
  );
}

export async function removeChannel(tx: Conn, workspaceId: string, kind: ChannelKind): Promise<boolean> {
  return (await tx.run(REMOVE, [workspaceId, kind])) > 0;
}

// ── Slack messages ───────────────────────────────────────────────────────────────────────────────

const M = columns('channel_messages', [
  'workspace_id',
  'approval_id',
  'position',
  'channel',
  'ts',
  'created_at',
]);
const toMessage = (raw: unknown[]): ChannelMessage => {
  const r = M.row(raw);
  return {
    workspaceId: r.workspace_id,
    approvalId: r.approval_id,
    position: r.position,
    channel: r.channel,
    ts: r.ts,
    createdAt: r.created_at,
  };
};
const INSERT_MESSAGE = sql(
  `INSERT INTO channel_messages (${M.list}) VALUES (?, ?, ?, ?, ?, ?)
   ON CONFLICT (approval_id, position, channel) DO NOTHING`,
);
const MESSAGES = sql(
  `SELECT ${M.list} FROM channel_messages WHERE approval_id = ? AND position = ? ORDER BY channel`,
  toMessage,
);

export async function insertChannelMessage(tx: Conn, m: ChannelMessage): Promise<void> {
  await tx.run(
    INSERT_MESSAGE,
    M.values({
      workspace_id: m.workspaceId,
      approval_id: m.approvalId,
      position: m.position,
      channel: m.channel,
      ts: m.ts,
      created_at: m.createdAt,
    }),
  );
}

export function channelMessages(conn: Conn, approvalId: string, position: number): Promise<ChannelMessage[]> {
  return conn.all(MESSAGES, [approvalId, position]);
}

// ── members' Slack users ─────────────────────────────────────────────────────────────────────────

const LINKED = sql(
  'SELECT member_id FROM slack_users WHERE workspace_id = ? AND slack_user_id = ?',
  (raw: unknown[]) => raw[0] as string,
);
const LINKS_OF_ROLE = sql(
  `SELECT s.slack_user_id FROM slack_users s JOIN members m ON m.id = s.member_id
   WHERE s.workspace_id = ? AND m.workspace_id = ? AND m.role = ? ORDER BY s.slack_user_id`,
  (raw: unknown[]) => raw[0] as string,
);
const LINKS_OF_MEMBER = sql(
  'SELECT slack_user_id FROM slack_users WHERE workspace_id = ? AND member_id = ? ORDER BY slack_user_id',
  (raw: unknown[]) => raw[0] as string,
);
const LINK = sql(
  `INSERT INTO slack_users (workspace_id, slack_user_id, member_id, created_at) VALUES (?, ?, ?, ?)
   ON CONFLICT (workspace_id, slack_user_id) DO UPDATE SET member_id = excluded.member_id,
     created_at = excluded.created_at`,
);
const UNLINK = sql('DELETE FROM slack_users WHERE workspace_id = ? AND member_id = ?');

/** The member a Slack user was explicitly linked to, if any. */
export function linkedMember(
  conn: Conn,
  workspaceId: string,
  slackUserId: string,
): Promise<string | undefined> {
  return conn.get(LINKED, [workspaceId, slackUserId]);
}

/** The Slack users linked to members holding `role` (direct messages). */
export function slackUsersWithRole(conn: Conn, workspaceId: string, role: string): Promise<string[]> {
  return conn.all(LINKS_OF_ROLE, [workspaceId, workspaceId, role]);
}

export function slackUsersOf(conn: Conn, workspaceId: string, memberId: string): Promise<string[]> {
  return conn.all(LINKS_OF_MEMBER, [workspaceId, memberId]);
}

/** Links a Slack user to a member (a later link of the same Slack user replaces it). */
export async function linkSlackUser(
  tx: Conn,
  workspaceId: string,
  slackUserId: string,
  memberId: string,
  at: number,
): Promise<void> {
  await tx.run(LINK, [workspaceId, slackUserId, memberId, at]);
}

export async function unlinkSlackUsers(tx: Conn, workspaceId: string, memberId: string): Promise<number> {
  return tx.run(UNLINK, [workspaceId, memberId]);
}

// ── resealing (`warden secrets reseal`) ─────────────────────────────────────────────────────────

const CHANNEL_SECRETS = sql('SELECT id, secrets FROM channels ORDER BY id', (raw: unknown[]) => ({
  id: raw[0] as string,
  secrets: raw[1] as string,
}));
const RESEAL_CHANNEL = sql('UPDATE channels SET secrets = ? WHERE id = ? AND secrets = ?');

/** Every connection's sealed secrets as stored. */
export function listChannelSecrets(conn: Conn): Promise<{ id: string; secrets: string }[]> {
  return conn.all(CHANNEL_SECRETS);
}

/** Replaces a connection's sealed secrets with the same ones sealed anew, only if still `from`. */
export async function resealChannelSecrets(tx: Conn, id: string, from: string, to: string): Promise<boolean> {
  return (await tx.run(RESEAL_CHANNEL, [to, id, from])) > 0;
}
