// The conversation pane of the demo page. Model output (and the user's words) is set as text,
// never parsed as HTML: a reply that contains markup or a script shows as those characters
// (tests/e2e/security.test.mjs).

/** The conversation as a list of turns; replies stream in token by token. */
export class ConversationView {
  constructor(list) {
    this.list = list;
    this.replies = new Map(); // turn → <li>
  }

  add(role, text, turn) {
    const item = document.createElement('li');
    item.className = role;
    item.dataset.turn = String(turn);
    item.textContent = text;
    this.list.append(item);
    item.scrollIntoView({ block: 'nearest' });
    return item;
  }

  token(turn, text) {
    let item = this.replies.get(turn);
    if (!item) {
      item = this.add('assistant', '', turn);
      this.replies.set(turn, item);
    }
    item.textContent += text;
  }

  /** The engine crashed: the reply streaming in ends where it was. */
  crashed() {
    for (const item of this.replies.values()) {
      if (item.dataset.complete) continue;
      item.dataset.crashed = 'true';
      item.dataset.complete = 'true';
    }
  }

  finish(turn, interrupted) {
    const item = this.replies.get(turn);
    if (item && interrupted) item.dataset.interrupted = 'true';
    if (item) item.dataset.complete = 'true';
  }
}
