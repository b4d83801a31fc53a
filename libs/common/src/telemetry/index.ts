export * from './registry';
export * from './scrape';
export * from './telemetry.module';
