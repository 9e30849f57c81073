export { Clock, FakeClock, SystemClock } from './clock';
export { ClockModule } from './clock.module';
