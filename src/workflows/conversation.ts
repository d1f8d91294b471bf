/**
 * An agent's conversation as its workflow keeps it: stored segments — blob references of message
 * lists, one per turn — then the messages not stored yet.
 *
 * Sending the whole conversation inline with every model call makes history grow with the square
 * of the turns. So once the conversation holds a stored block or its inline messages pass
 * CONVERSATION_INLINE_MAX_CHARS, every model call also stores the messages it was sent as one more
 * segment (the activity writes it; the workflow cannot), and the next call sends only references
 * plus that turn's new messages. A small conversation stays wholly inline, needing no shared disk.
 */
import { CONVERSATION_INLINE_MAX_CHARS } from '../shared/blobs';
import type { ChatMessage, LlmRequest, LlmResult } from '../shared/types';

export interface ConversationState {
  /** Stored segments, oldest first. */
  segments: string[];
  /** Messages after the segments, inline. */
  messages: ChatMessage[];
}

const holdsStored = (messages: ChatMessage[]): boolean =>
  messages.some((m) => typeof m.content !== 'string' && m.content.some((b) => 'stored' in b && b.stored !== undefined));

export class Conversation {
  private readonly segments: string[];
  private messages: ChatMessage[];

  /** `byReference` false keeps every message inline, as runs started before segments did. */
  constructor(
    private readonly byReference: boolean,
    state: ConversationState,
  ) {
    this.segments = [...state.segments];
    this.messages = [...state.messages];
  }

  push(message: ChatMessage): void {
    this.messages.push(message);
  }

  /** The conversation part of the next model call. */
  request(): Pick<LlmRequest, 'history' | 'messages' | 'storeMessages'> {
    if (!this.byReference) return { messages: this.messages };
    const store =
      this.segments.length > 0 || holdsStored(this.messages) || JSON.stringify(this.messages).length > CONVERSATION_INLINE_MAX_CHARS;
    return {
      ...(this.segments.length ? { history: [...this.segments] } : {}),
      messages: [...this.messages],
      ...(store ? { storeMessages: true } : {}),
    };
  }

  /** After a model call: the messages it stored become a segment. */
  settle(sent: Pick<LlmRequest, 'messages'>, res: Pick<LlmResult, 'messagesRef'>): void {
    if (!res.messagesRef) return;
    this.segments.push(res.messagesRef);
    this.messages = this.messages.slice(sent.messages.length);
  }

  state(): ConversationState {
    return { segments: [...this.segments], messages: [...this.messages] };
  }
}
