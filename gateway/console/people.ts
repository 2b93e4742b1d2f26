import { listMembers } from '../services/tenancy/index.ts';
import type { PageContext } from './page.ts';

/** How a page names a member: by email, "you" for the reader, never by a `mem_…` id alone. */
export type PersonName = (memberId: string | null | undefined) => string;

/**
 * The workspace's members by id, read once per page (issue 21: people are shown by email). A member
 * removed since keeps no email here: "a former member" says so, with the id for the audit trail.
 */
export async function peopleOf(p: PageContext, options: { you?: boolean } = {}): Promise<PersonName> {
  const members = await listMembers({ ctx: p.ctx });
  const emails = new Map(members.map((m) => [m.id, m.email]));
  const me = p.session.member.memberId;
  return (memberId) => {
    if (memberId === null || memberId === undefined) return 'the system';
    if (options.you && memberId === me) return 'you';
    return emails.get(memberId) ?? `a former member (${memberId})`;
  };
}

/** An audit actor (`{type, id}`) in words: a member by email, the others by what they are. */
export function actorName(actor: { type: string; id: string | null }, person: PersonName): string {
  switch (actor.type) {
    case 'member':
      return person(actor.id);
    case 'operator':
      return 'the gateway operator';
    case 'system':
      return 'the gateway';
    case 'agent':
      return actor.id ? `agent ${actor.id}` : 'an agent';
    case 'business':
      return actor.id ? `business ${actor.id}` : 'a business';
    default:
      return actor.id ? `${actor.type} ${actor.id}` : actor.type;
  }
}
