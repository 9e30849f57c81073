import { Injectable } from '@nestjs/common';

/** Where this process is in its life: the readiness and startup probes read it. */
@Injectable()
export class Lifecycle {
  private started = false;
  private draining = false;

  markStarted(): void {
    this.started = true;
  }

  /** SIGTERM received: readiness fails from now on, in-flight requests still finish. */
  beginDrain(): void {
    this.draining = true;
  }

  get isStarted(): boolean {
    return this.started;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}
