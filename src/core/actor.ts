/**
 * Who did something: a person, an API token, an alert source, or Riposte itself. Every timeline entry
 * and audit record names one, so "who changed this case" always has an answer.
 */
export interface Actor {
  kind: 'user' | 'token' | 'source' | 'system' | 'playbook';
  id: string;
  name: string;
  roles?: string[];
}

export const SYSTEM_ACTOR: Actor = Object.freeze({ kind: 'system', id: 'system', name: 'system' }) as Actor;
