import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** The smallest host a Lit controller needs, for driving the crypto worker's controller alone. */
export class Host implements ReactiveControllerHost {
  controllers: ReactiveController[] = [];
  addController(c: ReactiveController) {
    this.controllers.push(c);
  }
  removeController() {}
  requestUpdate() {}
  updateComplete = Promise.resolve(true);
}
