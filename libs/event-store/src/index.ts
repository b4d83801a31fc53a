export * from './event.entity';
export * from './event-store';
export * from './event-publisher';
export * from './event-recorder';
export * from './event-store.module';
export * from './event-store-health';
export * from './integrity';
export * from './backup';
